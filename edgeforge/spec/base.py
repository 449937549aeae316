from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base of every spec section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)
