# Feature visualisation: probe images, the channels of each layer, and one render job per checkpoint.


rule probe_images:
    input:
        unpack(lambda w: probe_source(w.exp)),
    output:
        artifact("probe"),
    params:
        source=lambda w, input: f"--splits {input.splits}" if "splits" in input.keys() else
                                option("--folder", experiment(w.exp)["probe"]),
        images=lambda w: experiment(w.exp)["probe_images"],
        size=lambda w: model_settings(w.exp)["image_size"],
    log:
        "logs/{exp}/probe.log",
    benchmark:
        "logs/benchmarks/{exp}/probe.tsv"
    threads: 1
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens probe {params.source} --split val --count {params.images} --size {params.size}"
        " -o {output} --threads {threads} " + LOGGED


# Channels chosen from the screen ({most_changed: K, least_changed: M}) wait for the screen of the chosen epoch,
# which needs every checkpoint's probe responses: the renders then start once training has finished.
rule select_channels:
    input:
        unpack(lambda w: channel_inputs(w.exp, w.layer)),
        checkpoint=lambda w: checkpoint(w.exp, 0),
    output:
        artifact("channels"),
    params:
        spec=lambda w: channel_spec(w.exp),
        screen=lambda w, input: option("--screen", input.get("screen", "")),
        layer=lambda w: layer_of(w.exp, w.layer),
    log:
        "logs/{exp}/{layer}/channels.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/channels.tsv"
    threads: 1
    priority: CHAIN_PRIORITY
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens select-channels --checkpoint {input.checkpoint} --probe {input.probe}"
        " --layer {params.layer} --channels {params.spec} {params.screen} -o {output} --threads {threads}"
        " " + LOGGED


# One render job per checkpoint: every layer, channel and seed in one batched optimisation. A rule per
# experiment, because the layers (and so the outputs) are the experiment's; each is named render_{exp}. A layer
# whose upstream weights equal those of a checkpoint already rendered (frozen, or a head-only epoch) is taken
# from the experiment's render store instead of being rendered again. With visualize.warm_start, each visualised
# epoch after the first continues from the previous one's renders: the render jobs form a chain.
for _name in config["experiments"]:

    rule:
        name:
            f"render_{_name}"
        input:
            checkpoint=lambda w: checkpoint(w.exp, w.epoch),
            channels=lambda w: [artifact("channels", w.exp, layer=layer) for layer in layers(w.exp)],
            spectrum=lambda w: spectrum_files(w.exp),
            starts=lambda w: warm_start_rows(w.exp, w.epoch),
            start_checkpoint=lambda w: warm_start_checkpoint(w.exp, w.epoch),
        output:
            rows=[artifact("render", layer=layer) for layer in layers(_name)],
            pngs=[artifact("render_png", layer=layer) for layer in layers(_name)],
        wildcard_constraints:
            exp=re.escape(_name),
        params:
            units=lambda w, input: layer_args(w.exp, layers(w.exp), input.channels),
            render=lambda w: render_params(w.exp),
            spectrum=lambda w, input: option("--spectrum", "".join(input.spectrum)),
            starts=lambda w, input: option_list("--warm-start", " ".join(input.starts)),
            start_checkpoint=lambda w, input: option("--warm-start-checkpoint", "".join(input.start_checkpoint)),
            store=lambda w: artifact("render_store", w.exp),
        log:
            "logs/{exp}/render/epoch_{epoch}.log",
        benchmark:
            "logs/benchmarks/{exp}/render/epoch_{epoch}.tsv"
        threads: 1
        priority: CHAIN_PRIORITY
        resources:
            gpu=1,
        conda:
            "../../envs/driftlens.yaml"
        shell:
            "driftlens render-checkpoint --checkpoint {input.checkpoint} --units {params.units} {params.render}"
            " {params.spectrum} {params.starts} {params.start_checkpoint} --rows {output.rows} --pngs {output.pngs} --store {params.store} --threads {threads}"
            " --no-progress " + LOGGED
