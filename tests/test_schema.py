"""The field registry is the one source of the schema, the schema suite and the data dictionary."""

import json
import re

import pyarrow as pa

from ercan import schema
from ercan.sources import PROJECT_ROOT
from ercan.publish import PRODUCTS
from ercan.validation import PRODUCT_SUITES, SCHEMA_SUITE, generated_suites


def test_data_dictionary_is_generated_from_the_registry_and_current():
    checked_in = (PROJECT_ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert checked_in == schema.render_data_dictionary(PRODUCTS), "run `ercan generate`"
    for field in schema.FIELDS:
        assert f"`{field}`" in checked_in


def test_data_dictionary_lists_every_product_and_describes_each_of_its_columns():
    checked_in = (PROJECT_ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    described = set(re.findall(r"^\| `(\w+)` \| (?:string|int32|int64|double|bool) \|", checked_in, flags=re.M))
    products_section = checked_in.split("## Products and their columns")[1].split("\n## ")[0]
    listed = dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", products_section, flags=re.M))
    assert set(PRODUCTS) == {"observations", "carbon_stocks", "carbon_fluxes", "restoration_progress",
                             "reconciliation", "reference_factors", "areas", "quality"}
    for name, product in PRODUCTS.items():
        assert listed[name].strip() == ", ".join(f"`{c}`" for c in product.columns)
        assert set(product.columns) <= described, f"{name}: undescribed {set(product.columns) - described}"


def test_generated_suites_are_current():
    """expectations/schema.json and one expectations/products/<product>.schema.json per product, no stale one."""
    generated = generated_suites()
    for path, text in generated.items():
        assert path.exists() and path.read_text(encoding="utf-8") == text, f"{path} is stale: run `ercan generate`"
    assert sorted(PRODUCT_SUITES.glob("*.schema.json")) == sorted(p for p in generated if p.parent == PRODUCT_SUITES)
    assert len(generated) == 1 + len(PRODUCTS)


def test_schema_suite_is_generated_from_the_registry():
    suite = json.loads(SCHEMA_SUITE.read_text(encoding="utf-8"))
    in_sets = {e["kwargs"]["column"]: e["kwargs"]["value_set"] for e in suite["expectations"]
               if e["type"] == "expect_column_values_to_be_in_set"}
    assert in_sets["variable"] == list(schema.VARIABLES)
    assert in_sets["area_level"] == ["site", "subnational", "national", "regional", "global"]


def test_arrow_schema_follows_the_registry():
    arrow = schema.arrow_schema()
    assert arrow.names == list(schema.OBSERVATION_COLUMNS)
    assert arrow.field("value").type == pa.float64()
    assert arrow.field("year").type == pa.int32()
    assert not arrow.field("area_code").nullable and arrow.field("pool").nullable


def test_every_variable_has_one_canonical_unit_and_additivity_follows_it():
    assert set(schema.VARIABLE_UNITS.values()) == set(schema.CANONICAL_UNITS)
    assert schema.is_additive("area") and schema.is_additive("carbon_stock")
    assert not schema.is_additive("carbon_density")
