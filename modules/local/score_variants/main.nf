// One shard of the variant table (meta.shard: its number, 5 digits). Test hook: with the environment variable
// STAGEVEP_TEST_KILL_SHARD=<shard number> the task exits 137 (as if killed) on attempts up to
// STAGEVEP_TEST_KILL_ATTEMPTS (default 1).
process SCORE_VARIANTS {
    tag "${meta.id}:${meta.shard}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint), path(shard)
    tuple path(fasta), path(fai)  // the .fai staged beside the FASTA, so no task re-indexes it

    output:
    tuple val(meta), path("scores_${meta.shard}.parquet"), emit: scores
    tuple val(meta), path("tracks_${meta.shard}.h5"), emit: tracks
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    """
    if [ "\${STAGEVEP_TEST_KILL_SHARD:-}" = "${meta.shard}" ] && [ ${task.attempt} -le "\${STAGEVEP_TEST_KILL_ATTEMPTS:-1}" ]; then
        echo "test hook: shard ${meta.shard} killed on attempt ${task.attempt}" >&2
        exit 137
    fi
    score_variants.py --checkpoint ${checkpoint} --fasta ${fasta} --variants ${shard} --shard \\
        --out scores_${meta.shard}.tsv --save-tracks tracks_${meta.shard}.h5 ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    touch scores_${meta.shard}.parquet tracks_${meta.shard}.h5
    software_versions.py --process ${task.process} > versions.yml
    """
}
