-- The DuckDB reference: the benchmark source's harmonization and aggregation as plain SQL.
-- Same inputs, same mapping (province names and ISO 3166-2 codes through the crosswalk, unit texts
-- through the `units` table that benchmarks/run.py fills from ercan.units), same output: the
-- observations in the common long schema, the bottom-up sums (plots → provinces → CHN) and their
-- reconciliation with the reported totals, written as Parquet. benchmarks/run.py fills the
-- {{placeholders}} and times the whole script.

CREATE TEMP TABLE names AS
    SELECT name_zh AS name, iso_3166_2 AS code FROM read_csv('{crosswalk}', header = true, all_varchar = true)
    UNION ALL SELECT '全国', 'CHN';

CREATE TEMP TABLE plots AS
    SELECT * FROM read_csv('{plots}', header = true, columns = {{
        '省份': 'VARCHAR', '样地号': 'VARCHAR', '调查年份': 'INTEGER', '指标': 'VARCHAR', '数值': 'DOUBLE', '单位': 'VARCHAR'}});

CREATE TEMP TABLE stands AS
    SELECT * FROM (
        UNPIVOT (SELECT * FROM read_csv('{stands}', header = true, types = {{'样地号': 'VARCHAR'}}))
        ON COLUMNS('^[0-9]{{4}}$') INTO NAME year VALUE value
    ) WHERE value IS NOT NULL;

CREATE TEMP TABLE observations AS
    SELECT
        'bench_inventory' AS source,
        '{plots_sha256}' AS snapshot,
        CASE WHEN p."样地号" = '合计' THEN n.code ELSE n.code || '-' || p."样地号" END AS area_code,
        CASE WHEN p."样地号" <> '合计' THEN 'site' WHEN n.code = 'CHN' THEN 'national' ELSE 'subnational' END AS area_level,
        CASE WHEN p."样地号" <> '合计' THEN n.code WHEN n.code = 'CHN' THEN NULL ELSE 'CHN' END AS parent_code,
        p."调查年份" AS year,
        'forest_land' AS land_category,
        'area' AS variable,
        p."数值" * u.factor AS value,
        'ha' AS unit,
        'reported' AS flag
    FROM plots p
    LEFT JOIN names n ON p."省份" = n.name
    LEFT JOIN units u ON p."单位" = u.unit AND u.variable = 'area'
    UNION ALL
    SELECT
        'bench_inventory', '{stands_sha256}', n.code || '-' || s."样地号", 'site', n.code, CAST(s.year AS INTEGER),
        'forest_land', 'growing_stock', s.value * u.factor, 'm3', 'reported'
    FROM stands s
    LEFT JOIN (SELECT DISTINCT code FROM names) n ON s."ISO 3166-2" = n.code
    LEFT JOIN units u ON s."单位" = u.unit AND u.variable = 'growing_stock';

-- Every code and unit must have mapped (benchmarks/run.py fails on a non-zero count).
CREATE TEMP TABLE unmapped AS
    SELECT count(*) AS rows FROM observations WHERE area_code IS NULL OR value IS NULL;

COPY observations TO '{out}/observations.parquet' (FORMAT parquet, COMPRESSION zstd);

CREATE TEMP TABLE bottom_up AS
    SELECT parent_code AS area_code, variable, year, sum(value) AS value, count(DISTINCT area_code) AS members
    FROM observations WHERE area_level = 'site' GROUP BY ALL
    UNION ALL
    SELECT parent_code, variable, year, sum(value), count(DISTINCT area_code)
    FROM observations WHERE area_level = 'subnational' GROUP BY ALL;

COPY (
    SELECT r.area_code, r.variable, r.year, r.value AS reported_value, b.value AS bottom_up_value,
           b.value - r.value AS difference, (b.value - r.value) / r.value AS relative_difference, b.members
    FROM observations r JOIN bottom_up b USING (area_code, variable, year)
    ORDER BY ALL
) TO '{out}/reconciliation.parquet' (FORMAT parquet, COMPRESSION zstd);

COPY bottom_up TO '{out}/bottom_up.parquet' (FORMAT parquet, COMPRESSION zstd);
