# driftlens: how a network's features change while it is fine-tuned.
#   snakemake --cores 2                                        # the offline demo (config: targets)
#   snakemake --cores 4 results/flowers17/mixed4c/merged.png   # the paper figure
# Rules live in workflow/rules/; the config is validated against workflow/schemas/config.schema.yaml.

import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

from driftlens.errors import schema_error_message
from driftlens.schemas.workflow import WORKFLOW_SCHEMA

min_version("8.0")


configfile: "config.yaml"


# Where envs/driftlens.post-deploy.sh installs driftlens from under --use-conda (the env file itself is copied).
os.environ.setdefault("DRIFTLENS_SOURCE", workflow.basedir)


try:
    validate(config, WORKFLOW_SCHEMA, set_default=True)
except WorkflowError as err:  # name the bad key (and the file it came from) first, not after a dump of the schema
    overlays = [str(path) for path in getattr(workflow, "overwrite_configfiles", None) or []]
    raise WorkflowError(schema_error_message(err, files=["config.yaml", *overlays])) from None


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/imported.smk"
include: "workflow/rules/visualize.smk"
include: "workflow/rules/change.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/attribution.smk"
include: "workflow/rules/accentuate.smk"


rule all:
    default_target: True
    input:
        [experiment_outputs(name) for name in config["targets"]],
