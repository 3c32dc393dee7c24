# driftlens: how a network's features change while it is fine-tuned.
#   snakemake --cores 2                                        # the offline demo (config: targets)
#   snakemake --cores 4 results/flowers17/mixed4c/merged.png   # the paper figure
# Rules live in workflow/rules/; the config is validated against workflow/schemas/config.schema.yaml.

from snakemake.utils import min_version, validate

min_version("8.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml", set_default=True)


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/visualize.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/attribution.smk"
include: "workflow/rules/accentuate.smk"


rule all:
    default_target: True
    input:
        [experiment_outputs(name) for name in config["targets"]],
