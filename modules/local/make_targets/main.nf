process MAKE_TARGETS {
    tag "${meta.id}"
    label 'process_low'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(windows)
    tuple val(stages), path(bigwigs, stageAs: 'stage*/*')
    tuple path(fasta), path(fai)  // the .fai staged beside the FASTA, so no task re-indexes it

    output:
    tuple val(meta), path("${prefix}.h5"), emit: targets
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: 'targets'
    def bw_args = [stages, bigwigs instanceof List ? bigwigs : [bigwigs]].transpose()
        .collect { stage, bw -> "--bigwig ${stage}=${bw}" }.join(' ')
    """
    make_targets.py --windows ${windows} ${bw_args} --fasta ${fasta} --output ${prefix}.h5 ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    prefix = task.ext.prefix ?: 'targets'
    // a stub targets file lists its tracks, one a line (the real file's `tracks` attribute): EVALUATE_MODEL's
    // stub names its per-stage outputs after them
    """
    printf '%s\\n' ${stages.join(' ')} > ${prefix}.h5
    software_versions.py --process ${task.process} > versions.yml
    """
}
