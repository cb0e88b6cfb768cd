"""One error tree for the whole package.

The CLI maps every :class:`OfftakeError` to a message and an exit code; the web
service maps it to an HTTP problem-details response.  Nothing user-facing should
ever see a traceback for one of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class OfftakeError(Exception):
    """Base class of every error Offtake raises on purpose."""

    exit_code: int = 1
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Problem:
    """One problem with an input: where it is and which rule it breaks."""

    file: str
    rule: str
    row: int | None = None  # 1-based line number in the file (a CSV header is line 1)
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", line {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        text = f"{where}: {self.rule}"
        if self.value is not None:
            text += f" (got {self.value!r})"
        return text


class InputError(OfftakeError):
    """Bad user input: a file, a value, an id.  Exit code 2, HTTP 422."""

    exit_code = 2
    http_status = 422

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems: list[Problem] = list(problems or [])
        if self.problems:
            listed = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{message}\n{listed}"
        super().__init__(message)


class ScenarioError(InputError):
    """A scenario folder breaks one or more rules; every problem is listed."""


class OutputError(OfftakeError):
    """An output cannot be written (folder not writable, a file or folder in the way).

    Exit code 2: the user's --out or the file system needs fixing, not Offtake.
    """

    exit_code = 2
    http_status = 500


def describe_os_error(exc: OSError, action: str = "use") -> str:
    """'cannot read data/x.csv: Permission denied' from an OSError, naming the path(s)."""
    where = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    reason = exc.strerror or type(exc).__name__
    return f"cannot {action} {where}: {reason}".replace("  ", " ")


class UnservedError(InputError):
    """The scenario cannot serve its own demand: households go unserved (exit 2 unless allowed)."""


class NotFoundError(OfftakeError):
    """An unknown id or name (scenario, region, site)."""

    exit_code = 2
    http_status = 404


class InfeasibleError(OfftakeError):
    """The model has no feasible solution; the message says where and why."""

    exit_code = 2
    http_status = 422

    def __init__(self, message: str, diagnosis: list[str] | None = None) -> None:
        self.diagnosis = list(diagnosis or [])
        if self.diagnosis:
            message = message + "\n" + "\n".join(f"  - {d}" for d in self.diagnosis)
        super().__init__(message)


class SolverError(OfftakeError):
    """The solver failed for a reason other than infeasibility."""

    exit_code = 3


class CheckError(OfftakeError):
    """An independent re-check of a solution found a violation."""

    exit_code = 4


@dataclass
class ProblemCollector:
    """Gather problems, then raise them all at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, file: str, rule: str, row: int | None = None, column: str | None = None,
            value: object | None = None) -> None:
        self.problems.append(Problem(file, rule, row, column, None if value is None else str(value)))

    def raise_if_any(self, message: str) -> None:
        if self.problems:
            raise ScenarioError(message, self.problems)
