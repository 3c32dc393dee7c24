# Attribution across epochs: where the network looks on fixed probe images, checkpoint by checkpoint.


rule attribution_maps:
    input:
        checkpoint=lambda w: checkpoint(w.exp, w.epoch),
        probe=lambda w: artifact("probe", w.exp),
    output:
        maps=artifact("attribution_maps"),
        png=artifact("attribution_png"),
    params:
        images=lambda w: experiment(w.exp)["attribution"]["images"],
        methods=lambda w: " ".join(experiment(w.exp)["attribution"]["methods"]),
        layer=lambda w: option("--layer", experiment(w.exp)["attribution"]["layer"]),
    log:
        "logs/{exp}/attribution/epoch_{epoch}.log",
    benchmark:
        "logs/benchmarks/{exp}/attribution/epoch_{epoch}.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens attribution-maps --checkpoint {input.checkpoint} --probe {input.probe} --count {params.images}"
        " --methods {params.methods} {params.layer} -o {output.maps} --png {output.png} --threads {threads}"
        " " + LOGGED


rule attribution_grid:
    input:
        probe=lambda w: artifact("probe", w.exp),
        maps=lambda w: [artifact("attribution_maps", w.exp, e) for e in visual_epochs(w.exp)],
    output:
        report(artifact("attribution_grid"), caption="../report/attribution_merged.rst", category="{exp}"),
    params:
        method=lambda w: experiment(w.exp)["attribution"]["methods"][0],
    log:
        "logs/{exp}/attribution/merged.log",
    benchmark:
        "logs/benchmarks/{exp}/attribution/merged.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens attribution-grid --probe {input.probe} --maps {input.maps} --method {params.method}"
        " -o {output} --threads {threads} " + LOGGED


rule attribution_drift:
    input:
        maps=lambda w: [artifact("attribution_maps", w.exp, e) for e in visual_epochs(w.exp)],
        metrics=lambda w: metrics_files(w.exp),
    output:
        table=artifact("attribution_drift"),
        png=report(artifact("attribution_drift_png"), caption="../report/attribution_drift.rst", category="{exp}"),
    params:
        reference=lambda w: trained_head_epoch(w.exp),
    log:
        "logs/{exp}/attribution/drift.log",
    benchmark:
        "logs/benchmarks/{exp}/attribution/drift.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens attribution-drift --maps {input.maps} --reference-epoch {params.reference} --metrics {input.metrics}"
        " -o {output.table}"
        " --png {output.png} --threads {threads} " + LOGGED
