"""What unfccc_annex_i's declaration cannot say (see its `notes`): the categories each inventory file
must have; the Parties table of another input, checked against the Parties' names; 4.A in both
inventory files (the copy checked, then dropped); the EU's members, linked to it only once they add up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ercan.declaration import Reading
from ercan.errors import SourceError, did_you_mean
from ercan.readers import LINE, read_json_cells, require_columns

HERE = Path(__file__).parent
# the categories each inventory file is read for, as it writes them
INVENTORIES = {
    "lulucf": ("4.  Land Use, Land-Use Change and Forestry", "4.A  Forest Land", "4.G  Harvested Wood Products"),
    "forest_land": ("4.A  Forest Land", "4.A.1  Forest Land Remaining Forest Land",
                    "4.A.2  Land Converted to Forest Land"),
}
REPEAT = ("forest_land", "CRF:4.A", "lulucf")  # this role's rows of this category repeat those of that role
PARTIES_GROUP = "Annex I"  # the group of parties.json that lists the Annex I Parties
EU, TOLERANCE = "EUU", 0.005  # the reported EU aggregate must equal its members' sum within 0.5%
SAME_DUMP = "Ingest the inventory files and parties.json of the same API dump."


def cells(role: str, cells: pd.DataFrame, raw) -> pd.DataFrame:
    """The cells, once the file is checked to have every category its role is read for."""
    for category in (c for c in INVENTORIES[role] if c not in set(cells["rows.name"])):
        raise SourceError(f"has no row {category!r} for any Party", file=raw.name,
                          hint=f"The file is not the one role {role!r} reads, or the API layout changed.")
    return cells


def rows(rows: pd.DataFrame, files) -> pd.DataFrame:
    _check_parties(rows, files)
    return _linked_to_eu(_without_repeat(rows, files), files)


def _table(data: bytes, records: str, file: str, role: str, fields=("id", "name"), flatten=()) -> pd.DataFrame:
    table = read_json_cells(data, Reading(format="json", records=records, flatten=flatten), file=file, role=role)
    require_columns(table, fields, file=file, role=role)
    return table


def _check_parties(rows: pd.DataFrame, files) -> None:
    """Each Party of the inventory files that parties.json lists has its name there, and its area's code."""
    raw = files["parties"]
    with raw.open() as f:
        table = _table(f.read(), None, raw.name, raw.role, ("name", "parties.id", "parties.code", "parties.name"),
                       flatten=("parties",))
    group = table[table["name"] == PARTIES_GROUP].set_index("parties.id")
    if group.empty:
        raise SourceError(f"has no group {PARTIES_GROUP!r}{did_you_mean(PARTIES_GROUP, set(table['name']))}",
                          file=raw.name, hint=SAME_DUMP)
    aggregates = pd.read_csv(HERE / "unfccc_annex_i_aggregates.csv", dtype=str)
    party_code = dict(zip(aggregates["area_code"], aggregates["party_code"]))  # EUU: EUA
    for role in INVENTORIES:
        areas = rows[rows["snapshot"] == files[role].sha256].groupby(LINE)["area_code"].first()
        with files[role].open() as f:
            parties = _table(f.read(), "data", files[role].name, role)
        for line, party_id, party in zip(parties[LINE], parties["id"], parties["name"]):
            if party_id not in group.index or line not in areas.index:  # not listed: mapped by its name only
                continue
            code, name, area = group.at[party_id, "parties.code"], group.at[party_id, "parties.name"], areas[line]
            if name != party or code != party_code.get(area, area):
                raise SourceError(
                    f"record {line}: Party {party!r} (id {party_id}) is {area} by its name, but {raw.name!r} "
                    f"lists id {party_id} as {name!r}, code {code!r}", file=files[role].name, column="name",
                    hint=SAME_DUMP + " An aggregate's code goes into unfccc_annex_i_aggregates.csv (party_code).")


def _without_repeat(rows: pd.DataFrame, files) -> pd.DataFrame:
    """The rows without the copy of a category read from another file, once it is checked to repeat it."""
    role, category, original = REPEAT
    of = {r: rows[(rows["snapshot"] == files[r].sha256) & (rows["category"] == category)] for r in (role, original)}
    joined = of[role].merge(of[original], on=["area_code", "year"], how="outer", suffixes=("", "_read"))
    bad = joined[~np.isclose(joined["value"], joined["value_read"], rtol=1e-9, atol=0)]
    if len(bad):
        first = bad.iloc[0].fillna({LINE: bad.iloc[0][LINE + "_read"], "_column": bad.iloc[0]["_column_read"]})
        raise SourceError(f"record {first[LINE]:.0f}: {category} of {first['area_code']}, year {first['year']}: "
                          f"{first['value']} t CO2e/yr here but {first['value_read']} in {files[original].name!r}",
                          file=files[role].name, column=first["_column"],
                          hint="The files' copies of a category disagree (nan: no value). " + SAME_DUMP)
    return rows.drop(of[role].index)


def _linked_to_eu(rows: pd.DataFrame, files) -> pd.DataFrame:
    """parent_code EU for its members, once for every category and year the EU reports its value is
    checked to be the sum of its declared members' (a missing value counts as zero)."""
    crosswalk = pd.read_csv(HERE / "unfccc_annex_i_eu_members.csv", dtype=str)
    members = set(crosswalk.loc[crosswalk["aggregate"] == EU, "member"])
    member = rows["area_code"].isin(members) & (rows["area_level"] == "national")
    reported = rows[rows["area_code"] == EU].set_index(["category", "year"])
    summed = rows[member].groupby(["category", "year"])["value"].sum().reindex(reported.index, fill_value=0.0)
    off = (summed - reported["value"]).abs() > TOLERANCE * reported["value"].abs()
    if off.any():
        (category, year), row = off[off].index[0], reported[off].iloc[0]
        value, total = row["value"], summed[(category, year)]
        absent = sorted(members - set(rows.loc[member, "area_code"]))
        raise SourceError(
            f"record {row[LINE]}: {category}, year {year}: the EU reports {value:.6g} t CO2e/yr but its "
            f"{len(members)} declared members add up to {total:.6g} ({(total - value) / abs(value):+.2%}; "
            f"tolerance {TOLERANCE:.1%}){'; members absent: ' + ', '.join(absent) if absent else ''}",
            file=next(raw.name for raw in files.values() if raw.sha256 == row["snapshot"]), column=row["_column"],
            hint="The member set of the EU entity differs in this dump: update unfccc_annex_i_eu_members.csv "
                 "(with the evidence) so that members link to the right aggregate.")
    return rows.assign(parent_code=rows["parent_code"].where(~member, EU))
