"""`edgeforge schema --markdown`: the spec reference table the docs embed."""

from __future__ import annotations

from edgeforge.cli import main


def test_schema_markdown_is_a_table_with_every_top_level_key(capsys):
    from edgeforge.spec.models import Spec

    assert main(["schema", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!-- spec-reference:begin") and out.rstrip().endswith("<!-- spec-reference:end -->")
    assert "| key | type | default | description |" in out
    for key, field in Spec.model_fields.items():
        assert f"| `{field.alias or key}" in out, key  # `targets.<name>` for a mapping
