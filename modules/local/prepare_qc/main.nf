process PREPARE_QC {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(peaks), path(windows), path(targets)
    tuple val(labels), path(bigwigs, stageAs: 'replicate*/*')  // labels: [[stage, replicate], ...] in bigwigs order

    output:
    path '*.{tsv,png,pdf}', emit: qc
    tuple val('prepare/qc'), path('*.{tsv,png,pdf}'), topic: report
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    def rep_args = [labels, bigwigs instanceof List ? bigwigs : [bigwigs]].transpose()
        .collect { label, bw -> "--replicate ${label[0]} ${label[1]} ${bw}" }.join(' ')
    """
    prepare_qc.py ${rep_args} --peaks ${peaks} --windows ${windows} --targets ${targets} --out-dir . ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    for f in replicate_concordance signal_distribution windows_per_split; do touch \$f.tsv \$f.png \$f.pdf; done
    software_versions.py --process ${task.process} > versions.yml
    """
}
