import re

from edgeforge.spec.reference import BEGIN, END, spec_reference_markdown
from tests.conftest import REPO


def test_readme_spec_reference_is_generated_from_the_models():
    readme = (REPO / "README.md").read_text()
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] == spec_reference_markdown(), "run: edgeforge schema --markdown, paste into README.md"


def test_every_spec_field_has_a_description():
    rows = spec_reference_markdown().splitlines()[3:-1]
    cells = [re.split(r"(?<!\\)\|", row)[1:-1] for row in rows]
    assert [key for key, _type, _default, description in cells if not description.strip()] == []
