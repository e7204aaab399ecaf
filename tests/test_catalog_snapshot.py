"""`gpuplan catalog import --from skypilot DIR` on the dated SkyPilot v7 snapshot kept in the repository
(catalog/snapshots/skypilot-2026-11-30): every provider folder imports, the data quirks its README lists are caught
by rules (flagged or dropped with a reason), and the bundled offers are exactly what the import writes."""
import re
import shutil
from collections import defaultdict

import pytest
import yaml
from typer.testing import CliRunner

from planner.catalog.load import BUNDLED_CATALOG, load_catalog
from planner.cli.main import app

runner = CliRunner()
SNAPSHOT = BUNDLED_CATALOG / "snapshots" / "skypilot-2026-11-30"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A copy of the bundled catalog with the snapshot imported again, and the command's output."""
    target = tmp_path_factory.mktemp("snap") / "catalog"
    shutil.copytree(BUNDLED_CATALOG, target, ignore=shutil.ignore_patterns("snapshots"))
    result = runner.invoke(app, ["catalog", "import", "--from", "skypilot", str(SNAPSHOT), "--catalog", str(target)])
    assert result.exit_code == 0, result.output
    return target, result.stdout


def offers_of(catalog_dir, provider):
    return {o["instance"]: o for o in yaml.safe_load((catalog_dir / "offers" / f"{provider}.yaml").read_text())["offers"]}


def test_every_provider_folder_imports(imported):
    _, out = imported
    for provider in ("aws", "cudo", "gcp", "hyperbolic", "lambda", "mithril", "nebius", "primeintellect", "runpod",
                     "seeweb", "shadeform", "simplepod", "vast-ai"):
        assert f"offer(s) for {provider} (" in out
    assert "from 13 provider folder(s)" in out


def test_the_bundled_offers_are_the_import_of_the_snapshot(imported):
    target, _ = imported
    for path in sorted((BUNDLED_CATALOG / "offers").glob("*.yaml")):
        assert yaml.safe_load(path.read_text()) == yaml.safe_load((target / "offers" / path.name).read_text()), \
            f"{path.name} differs from a fresh import: rerun `gpuplan catalog import --from skypilot {SNAPSHOT}`"
        # byte for byte too: the import in a fresh clone leaves `git status` clean (it rewrote five files, whose
        # only change was YAML anchors for shared dates)
        assert path.read_text() == (target / "offers" / path.name).read_text(), path.name


def test_offers_are_written_without_yaml_anchors(tmp_path):
    import datetime as dt

    from planner.catalog.importer import write_offers
    from planner.schema.catalog import Offer, ProviderOffers

    shared = dt.date(2026, 9, 20)  # one object, as a previous file read from YAML with an alias gives
    offers = [Offer(instance=f"i{n}", gpu="A10", gpus_per_instance=1, usd_per_hour=1.0, as_of=shared) for n in (1, 2)]
    document = ProviderOffers(schema_version=1, provider="p", name="P", as_of=shared, source="test table",
                              billing="per-hour", offers=offers)
    write_offers(document, tmp_path / "p.yaml")
    text = (tmp_path / "p.yaml").read_text()
    assert "&id" not in text and "*id" not in text and text.count("as_of: 2026-09-20") == 3


def test_market_size_and_multi_gpu_shapes():
    catalog = load_catalog(BUNDLED_CATALOG)
    assert len(catalog.providers) >= 15
    assert sum(len(p.offers) for p in catalog.providers.values()) >= 500
    providers = defaultdict(set)
    for o in catalog.offers():
        if o.offer.gpus_per_instance >= 4:
            providers[o.offer.gpu].add(o.provider)
    for gpu in ("RTX-A5000", "RTX-A6000", "L40S", "RTX-4090"):
        assert len(providers[gpu]) >= 3, (gpu, providers[gpu])


def test_swapped_spot_is_flagged_and_the_dearer_price_used(imported):
    l40s = offers_of(imported[0], "runpod")["1x_L40S_SECURE"]
    assert (l40s["usd_per_hour"], l40s["spot_usd_per_hour"]) == (0.86, 0.43)
    assert "swapped" in l40s["doubtful"]


def test_placeholder_spot_prices_are_dropped(imported):
    target, out = imported
    assert "placeholder spot price 99999999 dropped" in out and "placeholder spot price 0.00 dropped" in out
    for provider in ("primeintellect", "vast-ai"):
        imported_offers = [o for o in offers_of(target, provider).values() if "as_of" not in o]
        assert imported_offers and all(o.get("spot_usd_per_hour") is None for o in imported_offers)


def test_equal_spot_and_on_demand_everywhere_flags_the_price(imported):
    for offer in offers_of(imported[0], "mithril").values():
        assert "auction" in offer["doubtful"] and offer.get("spot_usd_per_hour") is None


def test_memory_fields_holding_host_ram_or_totals_do_not_pick_the_variant(imported):
    target, out = imported
    assert "GPU memory field equals the host RAM per GPU in this file: ignored" in out
    assert {o["gpu"] for o in offers_of(target, "nebius").values() if "h100" in o["instance"]} == {"H100-SXM"}
    vast = offers_of(target, "vast-ai")
    # SizeInMiB 163840 for 2 GPUs is 80 GB in all (instance total): 40 GB A100s, as the 1-GPU row says
    assert vast["2x-A100_SXM4-32-65536"]["gpu"] == "A100-40GB-SXM"
    assert vast["2x-H100_NVL-32-65536"]["gpu"] == "H100-NVL"
    prime = offers_of(target, "primeintellect")
    assert prime["runpod__1xA100_80GB__8__117"]["gpu"] == "A100-80GB-PCIE"


def gcp_machines():
    """(machine type, region) → (on-demand, spot) of each GCP accelerator row of the snapshot plus the host VM row of
    the same zone, computed here from the csv (catalog/providers.yaml names the host machine type)."""
    import csv

    providers = yaml.safe_load((BUNDLED_CATALOG / "providers.yaml").read_text())["providers"]
    types = {(h["accelerator"], h["count"]): h["instance"]
             for h in next(p for p in providers if p["id"] == "gcp")["host_vms"]}
    rows = list(csv.DictReader((SNAPSHOT / "v7" / "gcp" / "vms.csv").open()))
    hosts = {(r["InstanceType"], r["AvailabilityZone"]): r for r in rows if r["InstanceType"]}
    out = {}
    for r in rows:
        machine = types.get((r["AcceleratorName"], int(r["AcceleratorCount"] or 0)))
        if not r["InstanceType"] and machine and (machine, r["AvailabilityZone"]) in hosts:
            host = hosts[(machine, r["AvailabilityZone"])]
            assert host["Region"] == r["Region"]
            out[(machine, r["Region"])] = (float(r["Price"]) + float(host["Price"]),
                                           float(r["SpotPrice"]) + float(host["SpotPrice"]))
    return out


def test_gcp_prices_the_gpu_with_the_host_vm_of_its_own_region(imported):
    target, out = imported
    machines = gcp_machines()
    a2 = offers_of(target, "gcp")["a2-highgpu-8g"]
    # europe-west4: 8x A100 12.90919 + its a2-highgpu-8g host 6.51251 (the us-central1 host, 5.91582, gave 18.82501)
    assert a2["usd_per_hour"] == pytest.approx(machines[("a2-highgpu-8g", "europe-west4")][0]) == 19.4217
    assert a2["region"].startswith("europe-west4")
    assert a2["spot_usd_per_hour"] == pytest.approx(machines[("a2-highgpu-8g", "europe-west4")][1])
    assert a2["usd_per_hour_max"] == pytest.approx(machines[("a2-highgpu-8g", "us-west3")][0])
    imported_here = {k: o for k, o in offers_of(target, "gcp").items() if "as_of" not in o}
    assert set(imported_here) == {m for m, _ in machines}
    for instance, offer in imported_here.items():
        region = offer["region"].split(" ")[0]
        assert offer["usd_per_hour"] == pytest.approx(machines[(instance, region)][0]), instance
        assert offer.get("usd_per_hour_max", offer["usd_per_hour"]) == pytest.approx(max(
            p for (m, _), (p, _) in machines.items()
                                                              if m == instance)), instance
    assert "GCP accelerator-only price: no host machine type" in out and "TPU slice, not a GPU" in out


def test_gcp_never_pairs_a_gpu_with_another_regions_host(tmp_path):
    """An accelerator row whose host machine type is priced only in another region is dropped with its reason; a host
    with no spot price in the zone leaves the machine without one."""
    import datetime as dt

    from planner.catalog.names import load_accelerator_names
    from planner.catalog.providers import load_providers
    from planner.catalog.snapshot_import import NO_HOST_PRICE, NO_HOST_SPOT, import_provider

    table = tmp_path / "gcp" / "vms.csv"
    table.parent.mkdir()
    gpu = "{'Gpus': [{'MemoryInfo': {'SizeInMiB': 40960}}]}"
    table.write_text(
        "InstanceType,vCPUs,MemoryGiB,AcceleratorName,AcceleratorCount,GpuInfo,Region,AvailabilityZone,Price,SpotPrice\n"
        "a2-highgpu-8g,96.0,680.0,,,,us-central1,us-central1-a,5.91582,2.36604\n"
        "a2-highgpu-1g,12.0,85.0,,,,us-west3,us-west3-b,0.8882,\n"
        f",,,A100,8,\"{gpu}\",europe-west4,europe-west4-a,12.90919,9.3528\n"
        f",,,A100,8,\"{gpu}\",us-central1,us-central1-b,23.47126,9.3528\n"
        f",,,A100,1,\"{gpu}\",us-west3,us-west3-b,3.43686,1.3713\n")
    catalog = load_catalog(BUNDLED_CATALOG)
    result = import_provider("gcp", table, catalog, load_accelerator_names(BUNDLED_CATALOG, catalog),
                             load_providers(BUNDLED_CATALOG), dt.date(2026, 11, 30), "test table")
    assert result.dropped[NO_HOST_PRICE] == 2  # europe-west4 has no host row; us-central1-b is not the host's zone
    assert result.adjusted[NO_HOST_SPOT] == 1
    offers = {o.instance: o for o in result.document.offers if o.source is None}
    assert set(offers) == {"a2-highgpu-1g"}
    assert offers["a2-highgpu-1g"].usd_per_hour == pytest.approx(3.43686 + 0.8882)
    assert offers["a2-highgpu-1g"].spot_usd_per_hour is None


def test_the_v7_folder_imports_the_same_offers_as_the_snapshot_folder():
    """Passing <snapshot>/v7 reads the commit ids and date from the snapshot's README as the documented form does."""
    from planner.catalog.snapshot_import import import_snapshot

    catalog = load_catalog(BUNDLED_CATALOG)
    documented = import_snapshot(SNAPSHOT, catalog, BUNDLED_CATALOG)
    inner = import_snapshot(SNAPSHOT / "v7", catalog, BUNDLED_CATALOG)
    assert [r.document for r in inner] == [r.document for r in documented]
    assert "@017e2502fb63" in next(r for r in inner if r.provider == "gcp").document.source


def test_offers_the_snapshot_does_not_cover_keep_source_and_date(imported):
    target, _ = imported
    kept = [o for o in offers_of(target, "aws").values() if o["instance"].startswith("g")]
    assert kept and all(o["as_of"] and o["source"] for o in kept)
    assert (target / "offers" / "massed-compute.yaml").exists()


def test_every_offer_gpu_is_in_the_gpu_catalog(imported):
    catalog = load_catalog(imported[0])  # loading checks every offer's GPU id
    assert all(o.offer.gpu in catalog.gpus for o in catalog.offers())


def test_a_file_that_is_not_a_catalog_directory_exits_2(tmp_path):
    result = runner.invoke(app, ["catalog", "import", "--from", "skypilot", str(tmp_path), "--dry-run"])
    assert result.exit_code == 2 and "not a SkyPilot v7 catalog directory" in result.output


def test_catalog_providers_lists_every_provider():
    result = runner.invoke(app, ["catalog", "providers", "--format", "json"])
    assert result.exit_code == 0
    import json
    rows = json.loads(result.stdout)
    assert len(rows) >= 15 and sum(r["offers"] for r in rows) >= 500
    runpod = next(r for r in rows if r["provider"] == "runpod")
    assert runpod["storage_usd_per_gb_month"] == 0.07 and runpod["doubtful_offers"] >= 4
    table = runner.invoke(app, ["catalog", "providers"]).stdout
    # the total as `catalog list` writes it, digits grouped (new-user QA round 27: '1071 offers' beside '1,071')
    assert f"{len(rows)} providers, {sum(r['offers'] for r in rows):,} offers." in table
    # the networks' figures, not only how many offers state one (new-user QA round 30)
    ranges = {r["provider"]: r["network_gbps_range"] for r in rows}
    assert ranges["runpod"] == [0.1, 0.1] and ranges["aws"] == [2.5, 3200.0] and ranges["lambda"] is None
    wide = runner.invoke(app, ["catalog", "providers", "--wide"]).stdout
    assert re.search(r"^│ aws .*│ +2\.5–3,200 │", wide, re.M) and re.search(r"^│ runpod .*│ +0\.1 │", wide, re.M), wide


def test_a_price_that_is_no_number_names_its_file_line_and_column(tmp_path, monkeypatch):
    # new-user QA (round 3): a Price of 'three' in a directory import was dropped as 'no on-demand price in the source
    # (spot only or empty)', naming neither the file nor the row; it is one error at the cell, the path as typed
    folder = tmp_path / "v7" / "lambda"
    folder.mkdir(parents=True)
    rows = (SNAPSHOT / "v7" / "lambda" / "vms.csv").read_text().splitlines()
    header = rows[0].split(",")
    cells = rows[2].split(",")
    cells[header.index("Price")] = "three"
    (folder / "vms.csv").write_text("\n".join([rows[0], rows[1], ",".join(cells), *rows[3:]]) + "\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["catalog", "import", "--from", "skypilot", "v7", "--dry-run"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: v7/lambda/vms.csv:3: Price: 'three' is not a number."), result.output


def test_every_variant_is_read_from_the_row_not_only_kept_from_the_offers_file():
    """The import keeps a variant already in the offers file (checked by hand); read from the row alone, each snapshot
    row (GCP's accelerator-only rows aside: the folder import pairs them with hosts) names the same variant, so a
    catalog without those offers imports them right (new-user QA round 5: p5.48xlarge came out as the H100 NVL,
    Lambda's PCIe gpu_1x/2x/4x_a100 as the SXM module)."""
    from planner.catalog.names import gpu_for, load_accelerator_names
    from planner.catalog.quirks import clean
    from planner.catalog.skypilot import provider_folders, read_vms_and_hosts

    catalog = load_catalog(BUNDLED_CATALOG)
    names = load_accelerator_names(BUNDLED_CATALOG, catalog)
    wrong, read = [], 0
    for cloud, path in sorted(provider_folders(SNAPSHOT).items()):
        if cloud in ("common", "gcp"):
            continue
        provider = {"vast": "vast-ai"}.get(cloud, cloud)
        offers = {o["instance"]: o["gpu"] for o in
                  yaml.safe_load((BUNDLED_CATALOG / "offers" / f"{provider}.yaml").read_text())["offers"]}
        rows, _ = read_vms_and_hosts(path)
        for row in clean(rows)[0]:
            if row.row.instance in offers:
                read += 1
                gpu = gpu_for(names, "skypilot", row.row.accelerator, cloud, row.memory_gb,
                              f"{row.row.instance} {row.row.description}")
                if gpu != offers[row.row.instance]:
                    wrong.append((cloud, row.row.instance, gpu, offers[row.row.instance]))
    assert read > 900 and not wrong, wrong


def test_an_instance_named_sxm_is_never_planned_as_a_pcie_or_nvl_card():
    # new-user QA round 29: H200's name rule 'nvl' matched NVLINK, so shadeform's five *_H200-sxm5x8-NVLINK machines
    # (8x H200 SXM5) were the H200 NVL card: planned at its 835 TFLOP/s, not the SXM's 989, and a profile pinned to
    # H200-SXM never saw them
    import re

    catalog = load_catalog(BUNDLED_CATALOG)
    wrong = [(o.provider, o.offer.instance, o.offer.gpu) for o in catalog.offers()
             if re.search("sxm", o.offer.instance, re.I) and re.search("-(NVL|PCIE)$", o.offer.gpu)]
    assert not wrong, wrong
    h200 = [o for o in catalog.offers(providers={"shadeform"}) if "H200-sxm5x8-NVLINK" in o.offer.instance]
    assert len(h200) == 5 and {o.offer.gpu for o in h200} == {"H200-SXM"}


def test_providers_are_read_by_their_text_not_their_time_stamp(tmp_path):
    # issue 12: caches by content, or not at all. Keyed by (path, mtime), a providers.yaml rewritten within one time
    # stamp (a refresh, a restore with the old time kept) was served from the cache as it was before
    import os

    from planner.catalog.providers import load_providers

    path = tmp_path / "providers.yaml"
    shutil.copy(BUNDLED_CATALOG / "providers.yaml", path)
    before = load_providers(tmp_path)
    some = sorted(before)[0]
    stamp = path.stat().st_mtime_ns
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["providers"] = [p for p in document["providers"] if p["id"] != some]
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))
    after = load_providers(tmp_path)
    assert some in before and some not in after
    assert set(after) == set(before) - {some}


def test_the_clouds_that_state_networks_state_one_for_every_offer_the_sources_cover():
    # issue 15 item 3: AWS's g-families and P3 sizes, GCP's A2/G2 sizes, Azure, RunPod's pods and Nebius's 8-GPU
    # machines state their network (catalog/providers.yaml, each with its source); what no source read gives is left
    # to the named assumption: GCP's a3-highgpu-1g/2g/4g, Nebius's 1-4 GPU presets. An import that drops a family's
    # network, or a family that stops matching its instances, fails here
    catalog = load_catalog(BUNDLED_CATALOG)
    unstated = {pid: sorted(o.instance for o in catalog.providers[pid].offers if not o.network_gbps)
                for pid in ("aws", "gcp", "azure", "runpod", "nebius")}
    assert unstated["aws"] == unstated["azure"] == unstated["runpod"] == []
    assert unstated["gcp"] == ["a3-highgpu-1g", "a3-highgpu-2g", "a3-highgpu-4g"]
    assert unstated["nebius"] and all("8gpu" not in i for i in unstated["nebius"])
    sourced = [o for pid in ("aws", "gcp", "azure", "runpod", "nebius") for o in catalog.providers[pid].offers
               if o.network_gbps]
    assert all(o.network_source and len(o.network_source) > 20 for o in sourced)
