process ATTRIBUTE_VARIANTS {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint), path(scores)
    tuple path(fasta), path(fai)

    output:
    path '*.h5', emit: h5, optional: true
    path '*.{png,pdf}', emit: plots, optional: true
    tuple val('variants/attribution'), path('*.{png,pdf}'), optional: true, topic: report
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    """
    attribute_variants.py --checkpoint ${checkpoint} --fasta ${fasta} --scores ${scores} \\
        --out-dir . ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    touch stub.h5 stub.png
    software_versions.py --process ${task.process} > versions.yml
    """
}
