"""OpenADR 3.0.1 VTN interface of the operations service (see docs/openadr.md)."""
