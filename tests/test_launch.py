"""`--emit torchrun|skypilot`: launch specs of the recommended training plan."""
import json
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from planner.cli.main import app
from planner.errors import PlannerError

from .conftest import ROOT, gpuplan

runner = CliRunner()
PRETRAIN = ROOT / "profiles" / "pretrain-1b-72h.yaml"

SKYPILOT_CLOUDS = {"aws", "gcp", "azure", "lambda", "runpod", "paperspace", "vast", "do", "kubernetes", "oci",
                   "fluidstack", "cudo", "ibm", "scp", "nebius", "vsphere", "hyperbolic", "seeweb", "primeintellect"}

# SkyPilot itself loads every emitted task (skypilot is in the test extra): sky.Task.from_yaml_config validates
# against SkyPilot's own task schema (sky/utils/schemas.py) and builds the resources, without any cloud call. It runs
# in a child process with HOME in a temporary folder, because importing sky writes ~/.sky. Importing sky takes ~3 s
# of CPU, so one child serves the module: each request is one JSON line (the YAML text), each answer one JSON line
# (the loaded tasks, or SkyPilot's error with its traceback); every text is loaded afresh by from_yaml_config.
_SKY_LOADER = """
import json, sys, traceback, yaml, sky
for request in sys.stdin:
    try:
        lines = []
        for i, doc in enumerate(yaml.safe_load_all(json.loads(request))):
            task = sky.Task.from_yaml_config(doc)
            lines.append(f"{i} {task.name} {sorted(str(r.accelerators) for r in task.resources)} "
                         f"{sorted(str(r.cloud) for r in task.resources)} {task.num_nodes}")
        answer = {"ok": True, "lines": lines}
    except Exception:
        answer = {"ok": False, "error": traceback.format_exc()}
    print(json.dumps(answer), flush=True)
"""


class SkyLoader:
    """SkyPilot's task loader in a child process: `load(text)` is its answer for each YAML document of `text`."""

    def __init__(self, home: Path) -> None:
        self.log = home / "loader.log"  # the child's stderr (a file: an unread pipe could fill and block it)
        with self.log.open("w") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", _SKY_LOADER], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=log, text=True,
                                         env={"HOME": str(home), "PATH": "/usr/bin:/bin"})

    def load(self, text: str) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        watchdog = threading.Timer(120, self.proc.kill)  # as subprocess.run(timeout=120) did per load
        watchdog.start()
        try:
            self.proc.stdin.write(json.dumps(text) + "\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline()
        finally:
            watchdog.cancel()
        assert answer, self.log.read_text()[-2000:]  # the child died (or hung past the watchdog)
        return json.loads(answer)

    def close(self) -> None:
        self.proc.kill()  # nothing left to load: its exit (sky's own clean-up) would only cost time
        self.proc.wait(timeout=60)
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def sky(tmp_path_factory):
    loader = SkyLoader(tmp_path_factory.mktemp("sky-home"))
    yield loader
    loader.close()


def sky_load(sky, text):
    """SkyPilot's task loader over each YAML document of `text`; one line per task (name, resources, nodes)."""
    answer = sky.load(text)
    assert answer["ok"], answer["error"][-2000:]
    return answer["lines"]


def recommended(*args):
    data = json.loads(gpuplan("estimate", str(PRETRAIN), "--format", "json", *args).stdout)
    return data["decisions"]["training"]["choices"][0]


def emit(kind, *args):
    result = gpuplan("estimate", str(PRETRAIN), "--emit", kind, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_torchrun_command_matches_the_plan():
    plan = recommended()
    text = emit("torchrun")
    command = next(line for line in text.splitlines() if line.startswith("torchrun "))
    args = shlex.split(command)[1:]
    flags = dict(a.split("=", 1) for a in args if a.startswith("--") and "=" in a)
    assert int(flags["--nnodes"]) == plan["instances"]
    assert int(flags["--nnodes"]) * int(flags["--nproc-per-node"]) == plan["gpu_count"]
    exports = dict(kv.split("=", 1) for kv in
                   shlex.split(next(l for l in text.splitlines() if l.startswith("export ")))[1:])
    assert exports["GPUPLAN_MICRO_BATCH"] == str(plan["micro_batch"])
    assert exports["GPUPLAN_ZERO_STAGE"] == {"none": "0", "zero1": "1", "zero2": "2", "zero3": "3"}[plan["sharding"]]
    assert exports["GPUPLAN_ACTIVATION_CHECKPOINTING"] == ("1" if plan["recompute"] else "0")


def test_torchrun_flags_parse_with_torchs_own_parser():
    run = pytest.importorskip("torch.distributed.run")
    text = emit("torchrun", "--set", "constraints.gpu_count=16", "--set", "constraints.gpus=[H100-SXM]",
                "--set", "constraints.providers=[aws]")
    command = next(line for line in text.splitlines() if line.startswith("torchrun "))
    # what the shell does on instance 0: expand the variables the script requires
    command = (command.replace('"${NODE_RANK:?set NODE_RANK}"', "0")
               .replace('"${MASTER_ADDR:?set MASTER_ADDR}"', "10.0.0.1")
               .replace('"${TRAIN_SCRIPT:-train.py}"', "train.py"))
    args = shlex.split(command)[1:]
    parsed = run.get_args_parser().parse_args(args)
    assert parsed.nnodes == "2" and parsed.nproc_per_node == "8" and parsed.training_script == "train.py"
    assert parsed.node_rank == 0 and parsed.master_addr == "10.0.0.1"


def test_skypilot_yaml_loads_in_skypilot(sky):
    plan = recommended("--set", "constraints.gpus=[A100-80GB-SXM]", "--set", "constraints.providers=[aws]")
    text = emit("skypilot", "--set", "constraints.gpus=[A100-80GB-SXM]", "--set", "constraints.providers=[aws]")
    [loaded] = sky_load(sky, text)
    assert "A100-80GB" in loaded and loaded.endswith(f" {plan['instances']}")
    task = yaml.safe_load(text)
    name, count = task["resources"]["accelerators"].split(":")
    assert name == "A100-80GB"  # SkyPilot's name for the SXM4 80 GB part (p4de.24xlarge on AWS)
    assert int(count) * task["num_nodes"] == plan["gpu_count"] and task["num_nodes"] == plan["instances"]
    assert task["resources"]["use_spot"] is False and task["resources"]["infra"] in SKYPILOT_CLOUDS
    assert all(isinstance(v, str) for v in task["envs"].values())
    assert "$SKYPILOT_NODE_RANK" in task["run"] and "$SKYPILOT_NUM_GPUS_PER_NODE" in task["run"]


def test_every_skypilot_cloud_name_is_one_skypilot_launches_on(sky):
    # catalog/accelerator_names.yaml mapped simplepod (a folder of SkyPilot's price catalog) to `infra: simplepod`,
    # which SkyPilot's task schema refuses: the default profile's plan (simplepod) emitted a task SkyPilot rejected
    from planner.catalog.load import BUNDLED_CATALOG, load_catalog
    from planner.catalog.names import load_accelerator_names

    clouds = sorted(set(load_accelerator_names(BUNDLED_CATALOG, load_catalog(BUNDLED_CATALOG)).skypilot_clouds
                        .values()))
    text = "---\n".join(f"name: c{i}\nresources: {{infra: {cloud}}}\nrun: echo\n" for i, cloud in enumerate(clouds))
    assert len(sky_load(sky, text)) == len(clouds)


def test_the_default_profiles_task_loads_and_says_when_the_cloud_is_left_open(sky):
    plan = recommended()
    text = emit("skypilot")
    [loaded] = sky_load(sky, text)
    task = yaml.safe_load(text)
    assert task["num_nodes"] == plan["instances"] and loaded.endswith(f" {plan['instances']}")
    if "infra" not in task["resources"]:
        assert f"# {plan['provider']} is not a cloud SkyPilot launches on: infra is left open" in text


def test_an_owned_plan_runs_on_the_users_ssh_node_pools_not_a_cloud(sky):
    # the owned machine was recommended ($0/h) but the task had no infra and said SkyPilot would provision RTX4090:2
    # on any enabled cloud: a rented bill the plan never costed. `infra: ssh` is SkyPilot's SSH Node Pools only.
    args = ("--set", "constraints.owned=[{gpu: RTX-4090, count: 2, usd_per_hour: 0, interconnect: pcie}]",
            "--set", "training.deadline=2000h")
    plan = recommended(*args)
    assert plan["provider"] == "owned"  # the case: the owned machine is the recommended plan
    text = emit("skypilot", *args)
    [loaded] = sky_load(sky, text)
    assert loaded.endswith(" ['SSH'] 1")  # SkyPilot reads it as its SSH cloud, one node
    task = yaml.safe_load(text)
    assert task["resources"] == {"accelerators": "RTX4090:2", "use_spot": False, "infra": "ssh"}
    assert "any cloud you have enabled" not in text and "# the plan runs on your own machine" in text
    assert "infra: ssh/<pool>" in text


def test_skypilot_spot_plan_sets_use_spot():
    args = ("--set", "constraints.spot=true", "--set", "constraints.gpus=[A100-80GB-SXM]",
            "--set", "constraints.providers=[aws]", "--set", "training.deadline=2000h")
    plan = recommended(*args)
    task = yaml.safe_load(emit("skypilot", *args))
    assert task["resources"]["use_spot"] is plan["spot"] is True
    assert "preemption" in plan and plan["preemption"]["overhead_fraction"] > 0


def test_emit_without_training_exits_2():
    result = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"), "--emit", "torchrun"])
    assert result.exit_code == 2 and "no training section" in result.output


def test_emit_when_nothing_is_feasible_exits_1():
    result = runner.invoke(app, ["estimate", str(PRETRAIN), "--emit", "skypilot", "--set", "training.deadline=1min"])
    assert result.exit_code == 1 and "nothing to launch" in result.output


def test_skypilot_loader_refuses_what_skypilot_refuses(sky):
    # the check is SkyPilot's, not a list kept here: an unknown key fails it
    answer = sky.load("name: x\nrun: echo\nbogus: 1\n")
    assert not answer["ok"] and "bogus" in answer["error"]


def calibrate_emit(*args):
    result = runner.invoke(app, ["calibrate", "--emit", "skypilot", *args])
    return result


def test_calibrate_emits_one_skypilot_task_per_gpu_type_that_skypilot_loads(sky):
    result = calibrate_emit("--gpus", "RTX-A5000,rtx a6000,L40S:2", "--budget", "15m")
    assert result.exit_code == 0, result.output
    loaded = sky_load(sky, result.stdout)
    assert [line.split()[1] for line in loaded] == ["gpuplan-calibrate-rtx-a5000", "gpuplan-calibrate-rtx-a6000",
                                                    "gpuplan-calibrate-l40s"]
    tasks = list(yaml.safe_load_all(result.stdout))
    # every SkyPilot name of the type, as a set: SkyPilot provisions the cheapest offer of any of them
    assert tasks[0]["resources"]["accelerators"] == {"A5000": 1, "RTXA5000": 1}
    assert tasks[2]["resources"]["accelerators"] == {"L40S": 2}
    for task in tasks:
        assert task["workdir"] == "." and task["envs"]["BUDGET"] == "15m"
        assert "--index-url" in task["setup"] and "pip install --quiet ." in task["setup"]
        assert 'calibrate --out "$OUT" --budget "$BUDGET"' in task["run"]
        assert "gpuplan calibration add" in task["run"] and "file_mounts" not in task
        subprocess.run(["sh", "-n"], input=task["setup"] + task["run"], text=True, check=True)


def test_calibrate_out_dir_writes_each_task_to_its_own_file_that_skypilot_loads(sky, tmp_path):
    # new-user QA round 26: the tasks came as one multi-document YAML on standard output, each to be saved by hand as
    # the file its comment named before `sky launch` could read it
    printed = list(yaml.safe_load_all(calibrate_emit("--gpus", "RTX-A5000,L40S:2").stdout))
    folder = tmp_path / "tasks"
    result = calibrate_emit("--gpus", "RTX-A5000,L40S:2", "--out-dir", str(folder))
    assert result.exit_code == 0, result.output
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == ["gpuplan-calibrate-l40s.yaml", "gpuplan-calibrate-rtx-a5000.yaml"]
    for file in files:
        name = file.stem
        [loaded] = sky_load(sky, file.read_text())
        assert loaded.split()[1] == name
        assert yaml.safe_load(file.read_text()) == next(t for t in printed if t["name"] == name)
        assert f"Wrote {file}: sky launch -c {name} {file}\n" in result.stdout
        assert f"# run from the gpuplan source tree: sky launch -c {name} {file}\n" in file.read_text()
    assert not list(folder.glob(".*"))  # no staging file left behind (written atomically)


@pytest.mark.parametrize("args, start", [
    (("calibrate", "--gpus", "L40S", "--out-dir", "x"), "Error: --emit: --gpus, --bucket and --out-dir go with"),
    (("calibrate", "--out-dir", "x"), "Error: --emit: --gpus, --bucket and --out-dir go with"),
    (("calibrate", "--emit", "skypilot", "--gpus", "L40S", "--out", "t.yaml"), "Error: --out goes with"),
])
def test_out_dir_goes_with_emit(args, start):
    result = runner.invoke(app, list(args))
    assert (result.exit_code, result.stdout) == (2, "") and result.stderr.startswith(start), result.output
    assert len(result.stderr.splitlines()) == 1


def test_out_dir_that_is_a_file_is_one_error_and_writes_nothing(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("mine\n")
    result = calibrate_emit("--gpus", "L40S", "--out-dir", str(taken))
    assert result.exit_code == 2 and "Traceback" not in result.output and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("Error: --out-dir ") and taken.read_text() == "mine\n"


@pytest.mark.parametrize("budget, seconds", [("1d", 86400.0), ("2h", 7200.0), ("90m", 5400.0), ("1.5 days", 129600.0),
                                             ("600", 600.0), ("500ms", 0.5)])
def test_calibrate_budget_is_one_duration_days_included(budget, seconds):
    """--budget is the wall-clock time the calibration suite may take (steps past it are skipped): any one duration
    a profile's deadline reads, days too (new-user QA round 11: `--budget 1d` was refused as no duration), pasted
    into the script as one shell word."""
    from planner.cli.measure import check_budget
    from planner.render.escape import shell_word

    assert check_budget(budget) == seconds
    result = runner.invoke(app, ["calibrate", "--print-script", "--budget", budget])
    assert result.exit_code == 0, result.output
    assert f"DEFAULT_BUDGET={shell_word(budget)}\n" in result.stdout


@pytest.mark.parametrize("budget, hint", [("1d12h", "One number and one unit: 1d12h is 36h."),
                                          ("1h30m", "One number and one unit: 1h30m is 1.5h."),
                                          ("-1h", None), ("1e3", None), ("$(reboot)", None), ("1d; rm -rf ~", None),
                                          ("2 fortnights", None), ("", None)])
def test_calibrate_budget_that_is_not_one_duration_is_one_error(budget, hint):
    """Anything else is one error naming --budget, exit 2, nothing printed (it would go into a shell script); a
    duration written in several parts is told how to write it as one."""
    for mode in (["--print-script"], ["--emit", "skypilot", "--gpus", "L40S"]):
        result = runner.invoke(app, ["calibrate", *mode, "--budget", budget])
        assert (result.exit_code, result.stdout) == (2, ""), result.output
        assert result.stderr.startswith(f"Error: --budget: expected a duration such as 10m, 600s, 2h or 1d, got {budget!r}")
        assert len(result.stderr.splitlines()) == 1 and (hint is None) == ("One number" not in result.stderr)
        if hint:
            assert result.stderr.rstrip().endswith(hint)


@pytest.mark.parametrize("budget", ["0s", "0", "0.0 min", "0ms"])
def test_calibrate_refuses_a_zero_budget(budget):
    """New-user QA round 14: `calibrate --emit skypilot --budget 0s` was accepted, and the rented VM then ran the
    required steps only (the roofline and the smallest decoder): one error, exit 2, nothing printed; the same check
    runs before a calibration here (check_budget)."""
    from planner.cli.measure import check_budget

    message = (f"Error: --budget: {budget.strip()} is no time: every step but the roofline and the smallest decoder "
               "would be skipped. Give a duration above zero, e.g. 10m (the default).\n")
    for mode in (["--emit", "skypilot", "--gpus", "L40S"], ["--print-script"]):
        result = runner.invoke(app, ["calibrate", *mode, "--budget", budget])
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", message), result.output
    with pytest.raises(PlannerError, match="is no time"):
        check_budget(budget)


def test_calibrate_task_writes_the_record_to_a_mounted_bucket(sky):
    result = calibrate_emit("--gpus", "H100-SXM:8", "--bucket", "my-team-records")
    assert result.exit_code == 0, result.output
    [loaded] = sky_load(sky, result.stdout)
    task = yaml.safe_load(result.stdout)
    mount, spec = next(iter(task["file_mounts"].items()))
    assert spec == {"name": "my-team-records", "mode": "MOUNT"} and f'OUT="{mount}/' in task["run"]
    assert all(count == 8 for count in task["resources"]["accelerators"].values())


@pytest.mark.parametrize("args, field", [
    (("--gpus", "4090x"), "--gpus"), (("--gpus", "L40S:0"), "--gpus"), (("--gpus", "L40S,L40S"), "--gpus"),
    (("--gpus", "L40S:two"), "--gpus"), ((), "--gpus"), (("--gpus", "L40S", "--bucket", "a b"), "--bucket"),
    (("--gpus", "L40S\nrun: rm -rf /"), "--gpus"),
    (("--gpus", "L40S,MI300X"), "--gpus"),  # an AMD GPU: the task installs CUDA wheels (new-user QA)
    # new-user QA round 18: '²' is a digit to str.isdigit() and none to int(): an internal error, exit 70
    (("--gpus", "L40S:\u00b2"), "--gpus"), (("--gpus", "L40S:1_0"), "--gpus"),
])
def test_calibrate_emit_bad_input_is_one_error_exit_2(args, field):
    result = calibrate_emit(*args)
    assert result.exit_code == 2 and result.output.startswith(f"Error: {field}:") and "Traceback" not in result.output


def test_a_gpu_count_out_of_range_says_the_range_in_words():
    result = calibrate_emit("--gpus", "L40S:65")
    assert result.stderr == "Error: --gpus: 'L40S:65': expected a GPU count after ':', a whole number from 1 to 64, " \
                            "got '65'\n"


def test_a_gpu_count_no_instance_has_is_refused_with_the_largest(catalog):
    # new-user QA round 29: 'L40S:16' was promised "the cheapest offer" of a shape no catalog offer has
    largest = max(o.offer.gpus_per_instance for o in catalog.offers({"L40S"}))
    result = calibrate_emit("--gpus", f"L40S:{largest + 1}")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"Error: --gpus: 'L40S:{largest + 1}': no offer in the catalog has {largest + 1} L40S in "
                             f"one instance (the largest has {largest}); a calibration measures one machine. For "
                             f"example --gpus L40S:{largest}.\n")
    assert calibrate_emit("--gpus", f"L40S:{largest}").exit_code == 0


@pytest.mark.parametrize("gpus", ["L40S:2,", ",L40S", "L40S,,RTX-A5000", " , "])
def test_calibrate_emit_gpus_with_an_empty_item_says_so(gpus):
    """New-user QA round 11: a trailing comma read "Error: --gpus: '': unknown GPU ''"."""
    result = calibrate_emit("--gpus", gpus)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"Error: --gpus: {gpus!r} has an empty item: expected TYPE[:N] between the commas")


@pytest.mark.parametrize("args, named", [
    (("--emit", "skypilot", "--gpus", "L40S", "--out", "tasks.yaml"), "--out"),
    (("--emit", "skypilot", "--gpus", "L40S", "--quick"), "--quick"),
    (("--print-script", "--out", "calibrate.sh"), "--out"),
    (("--print-script", "--emit", "skypilot", "--gpus", "L40S"), "--print-script and --emit"),
])
def test_options_the_printed_text_cannot_use_are_refused(args, named):
    # new-user QA: `calibrate --emit skypilot --gpus L40S --out tasks.yaml` printed the tasks, wrote no file and
    # exited 0; --quick was dropped the same way, and --print-script silently won over --emit
    result = runner.invoke(app, ["calibrate", *args], catch_exceptions=False)
    assert result.exit_code == 2 and result.output.startswith(f"Error: {named}")
    assert len(result.output.strip().splitlines()) == 1


def test_gpus_beside_print_script_says_they_go_with_emit():
    # new-user QA round 13: `calibrate --print-script --gpus H100-SXM` said "--print-script and --emit skypilot print
    # different things", naming an --emit the user never gave
    result = runner.invoke(app, ["calibrate", "--print-script", "--gpus", "H100-SXM"], catch_exceptions=False)
    assert (result.exit_code, result.output) == (2, (
        "Error: --gpus goes with --emit skypilot; the --print-script script calibrates whichever GPUs the VM it runs "
        "on has. Drop --gpus, or print SkyPilot tasks instead: gpuplan calibrate --emit skypilot --gpus TYPE[:N],…\n"))


def test_gpus_without_emit_is_an_error():
    result = runner.invoke(app, ["calibrate", "--gpus", "L40S"])
    assert result.exit_code == 2 and "--emit skypilot" in result.output


def test_the_spec_states_the_profiles_global_batch_not_micro_batch_times_accumulation():
    # new-user QA: pretrain-1b-72h's 1,024 samples a step on 12 replicas are planned as 29 micro-batches of at most 3
    # (29 × 3 × 12 = 1,044): the spec carries the batch itself, so a script does not train on 1,044
    text = emit("torchrun")
    exports = dict(kv.split("=", 1) for kv in
                   shlex.split(next(l for l in text.splitlines() if l.startswith("export ")))[1:])
    assert exports["GPUPLAN_GLOBAL_BATCH"] == "1024"
    data = int(text.split("parallelism: data ", 1)[1].split(",", 1)[0])
    assert data > 1 and 1024 % data and int(exports["GPUPLAN_MICRO_BATCH"]) \
        * int(exports["GPUPLAN_GRAD_ACCUMULATION"]) * data != 1024  # the case the line is for
    assert "global batch 1,024 samples a step" in text
    share = sorted({1024 // data, -(-1024 // data)})
    assert "–".join(str(s) for s in share) + " of them" in text
    task = yaml.safe_load(emit("skypilot"))
    assert task["envs"]["GPUPLAN_GLOBAL_BATCH"] == "1024"


def test_the_header_states_hours_and_cost_as_the_tables_do():
    # new-user QA: lora-7b-a6000's spec read '6.9 h and $3 planned' for the table's $2.57, and a 3.5-minute plan's
    # hours one decimal (0.1 h) where the tables print 0.058
    lora = ROOT / "profiles" / "lora-7b-a6000.yaml"
    table = gpuplan("estimate", str(lora), "--top", "1").stdout
    spec = gpuplan("estimate", str(lora), "--emit", "torchrun").stdout
    assert "$2.58" in table and "7.0 h and $2.58 planned (P50)" in spec
    quick = emit("skypilot", "--set", "training.deadline=10min", "--confidence", "0.9")
    header = next(line for line in quick.splitlines() if line.startswith("# instance "))
    hours = float(header.split("; ", 1)[1].split(" h and ", 1)[0])
    assert 0 < hours < 1 and len(str(hours).rstrip("0").split(".")[1]) >= 2 and "planned (P90)" in header



def test_the_header_says_when_the_planned_price_is_in_doubt(tmp_path):
    # new-user QA: the header read '$74.52 planned' where the tables mark the same price with † (its price_flags):
    # one comment line names the doubt. The reason comes from a catalog anyone may edit: it stays in its comment.
    import shutil

    from planner.catalog.load import BUNDLED_CATALOG

    catalog = tmp_path / "catalog"
    shutil.copytree(BUNDLED_CATALOG, catalog, ignore=shutil.ignore_patterns("snapshots"))
    offers = catalog / "offers" / "simplepod.yaml"
    entry = "- instance: gpu_4x_rtxa4000_42\n  gpu: RTX-A4000\n"  # the default profile's recommended offer
    text = offers.read_text(encoding="utf-8")
    assert entry in text, "the recommended offer moved; update this test"
    offers.write_text(text.replace(entry, entry + '  doubtful: "unverified\\n$(touch pwned) `id`; x"\n', 1),
                      encoding="utf-8")
    plain = {kind: gpuplan("estimate", str(PRETRAIN), "--emit", kind).stdout for kind in ("torchrun", "skypilot")}
    for kind in ("torchrun", "skypilot"):
        assert "doubt" not in plain[kind]  # the bundled catalog's recommended price carries no flag
        spec = gpuplan("estimate", str(PRETRAIN), "--catalog", str(catalog), "--emit", kind).stdout
        lines = spec.splitlines()
        flagged = [line for line in lines if "doubt" in line]
        assert flagged == ["# price in doubt († in the tables): doubtful: unverified $(touch pwned) `id`; x"], spec
        # the same spec with that line added right under the cost line, nothing else moved
        cost = next(i for i, line in enumerate(lines) if " planned (P50)" in line)
        assert lines[cost + 1] == flagged[0]
        assert lines[:cost + 1] + lines[cost + 2:] == plain[kind].splitlines()
    script = tmp_path / "run.sh"
    script.write_text(gpuplan("estimate", str(PRETRAIN), "--catalog", str(catalog), "--emit", "torchrun").stdout)
    assert subprocess.run(["sh", "-n", str(script)], capture_output=True).returncode == 0


def test_emit_writes_the_html_asked_beside_it_and_says_format_is_unused(tmp_path):
    """New-user QA: `--emit torchrun --html r.html --format json` printed the script and wrote no page, silently."""
    page = tmp_path / "r.html"
    result = runner.invoke(app, ["estimate", str(PRETRAIN), "--emit", "torchrun", "--html", str(page),
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("#!/bin/sh") and page.read_text(encoding="utf-8").startswith("<!")
    assert f"Wrote {page}" in result.stderr and "--format json is not used" in " ".join(result.stderr.split())


def test_emit_without_training_writes_no_file(tmp_path):
    page = tmp_path / "r.html"
    result = runner.invoke(app, ["estimate", str(ROOT / "profiles" / "serve-7b-chat.yaml"), "--emit", "torchrun",
                                 "--html", str(page)])
    assert result.exit_code == 2 and "nothing to launch" in result.stderr and not page.exists()


def test_skypilot_without_an_accelerator_name_points_to_what_the_user_can_do(tmp_path):
    """New-user QA: an owned MI250X's `--emit skypilot` said 'Add one to catalog/accelerator_names.yaml', a file
    inside the installed package, and not that --emit torchrun needs no name."""
    page = tmp_path / "r.html"
    result = runner.invoke(app, ["estimate", str(PRETRAIN), "--set",
                                 "constraints.owned=[{gpu: MI250X, count: 4, usd_per_hour: 0}]",
                                 "--set", "constraints.gpus=[MI250X]", "--emit", "skypilot", "--html", str(page)])
    assert result.exit_code == 2 and result.stdout == "" and not page.exists() and "Traceback" not in result.output
    assert result.stderr.startswith("Error: no SkyPilot accelerator name for MI250X on owned.")
    assert "--catalog" in result.stderr and "--emit torchrun" in result.stderr


INTERLEAVED = ("--set", "training.parallelism.pipeline=4", "--set", "training.parallelism.virtual=2",
               "--set", "constraints.gpus=[A100-80GB-SXM]", "--set", "constraints.providers=[aws]")


def test_the_spec_carries_the_plans_virtual_pipeline_and_expert_degrees(sky):
    # the JSON showed parallelism.virtual 2 (pythia-1b: 16 layers, 4 stages of 2 virtual stages, 2 layers a chunk) while the
    # launch specs exported tensor, pipeline and context only: the script launched a plain 1F1B pipeline
    doc = json.loads(gpuplan("estimate", str(PRETRAIN), "--format", "json", *INTERLEAVED).stdout)
    parallelism = doc["training"]["plans"][doc["training"]["recommended"]]["parallelism"]
    assert parallelism["pipeline"] == 4 and parallelism["virtual"] == 2
    script = emit("torchrun", *INTERLEAVED)
    exports = dict(kv.split("=", 1) for kv in
                   shlex.split(next(l for l in script.splitlines() if l.startswith("export ")))[1:])
    assert exports["GPUPLAN_PIPELINE_PARALLEL"] == "4" and exports["GPUPLAN_VIRTUAL_PIPELINE_STAGES"] == "2"
    assert exports["GPUPLAN_EXPERT_PARALLEL"] == str(parallelism["expert"])
    assert "pipeline 4 × 2 virtual stages per rank" in script
    text = emit("skypilot", *INTERLEAVED)
    [loaded] = sky_load(sky, text)
    task = yaml.safe_load(text)
    assert task["envs"]["GPUPLAN_VIRTUAL_PIPELINE_STAGES"] == "2" and task["envs"]["GPUPLAN_PIPELINE_PARALLEL"] == "4"
    assert "pipeline 4 × 2 virtual stages per rank" in text
    # without interleaving the spec says 1, not nothing: a script reads every degree the same way
    assert "GPUPLAN_VIRTUAL_PIPELINE_STAGES=1 " in emit("torchrun")


@pytest.mark.parametrize("mode", ["selective", "full", "none"])
def test_the_specs_name_the_recomputation_the_memory_was_planned_for(mode):
    # both specs said 'activation checkpointing on' and GPUPLAN_ACTIVATION_CHECKPOINTING=1 for selective and full
    # alike: a script doing selective at the micro-batch planned for full runs out of memory
    pin = ("--set", f"training.parallelism.recompute={mode}")
    text = emit("torchrun", *pin)
    exports = dict(kv.split("=", 1) for kv in
                   shlex.split(next(l for l in text.splitlines() if l.startswith("export ")))[1:])
    assert exports["GPUPLAN_RECOMPUTE"] == mode
    assert exports["GPUPLAN_ACTIVATION_CHECKPOINTING"] == ("0" if mode == "none" else "1")  # as before
    header = next(line for line in text.splitlines() if "activation checkpointing" in line)
    words = {"selective": "on, selective recomputation (attention core only)", "full": "on, full recomputation",
             "none": "off"}[mode]
    assert f"activation checkpointing {words} (GPUPLAN_RECOMPUTE={mode})" in header
    task = yaml.safe_load(emit("skypilot", *pin))
    assert task["envs"]["GPUPLAN_RECOMPUTE"] == mode
    assert task["envs"]["GPUPLAN_ACTIVATION_CHECKPOINTING"] == ("0" if mode == "none" else "1")


def test_a_spec_says_the_network_its_hours_rest_on():
    # new-user QA round 30: the spec for 3 simplepod instances gave hours, dollars and layout, not the assumed 10 Gb/s
    # those hours rest on; a stated network is named with its source, one instance names none
    for kind in ("torchrun", "skypilot"):
        text = emit(kind)
        assert ("# network between instances: 10 Gb/s assumed (the offer states none; the hours above rest on it: a "
                "slower network makes them longer)") in text, text[:800]
    stated = emit("torchrun", "--set", "constraints.providers=[runpod]", "--set", "training.deadline=2000h",
                  "--set", "training.budget=1000000",
                  "--set", "constraints.gpu_count=16", "--set", "constraints.gpus=[H100-SXM]")
    assert "# network between instances: 0.1 Gb/s, as the offer states (Global networking" in stated
    alone = emit("torchrun", "--set", "constraints.gpus=[H100-SXM]", "--set", "constraints.max_gpus=8")
    assert "network between instances" not in alone
