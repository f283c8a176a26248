// Parameter validation without plugins (nf-schema cannot be installed offline): every problem with the
// parameters, reported at once before any task is submitted

include { schemaParams; snakeName } from './schema'

def validateParameters(params, schema_path) {
    def defs = schemaParams(schema_path)
    def errors = []
    params.each { key, value ->
        def name = snakeName(key.toString())
        if (!defs.containsKey(name)) {
            if (key == name) errors << "unknown parameter --${key} (see --help for the list)"
            return
        }
        if (key != name) {
            // Nextflow keeps '--max-steps' as params['max-steps'] and params.maxSteps, never max_steps:
            // the value would be ignored. The camelCase twin of a hyphenated option is reported once.
            def hyphenated = key.replaceAll(/([A-Z])/) { all, c -> '-' + c.toLowerCase() }
            if (key.contains('-') || !params.containsKey(hyphenated)) {
                errors << "--${key} is not read by the pipeline: write --${name}"
            }
            return
        }
        def spec = defs[name]
        if (value == null || value == '') {
            // a profile or -params-file that blanks a parameter with a default (test_full: the weights); free-text
            // strings may be blank ('' means none, e.g. --exclude_chroms '') unless the schema sets minLength
            def blankable = spec.type == 'string' && !spec.enum && !spec.minLength
            if (spec.default != null && spec.default != '' && !spec.required && !blankable) {
                errors << "--${name} needs a value: ${spec.description}"
            }
            return
        }
        switch (spec.type) {
            case 'integer':
                if (!(value instanceof Integer || value instanceof Long)) errors << "--${name} must be an integer, got '${value}'"
                break
            case 'number':
                // the command line leaves '1e-4' as a string
                if (!(value instanceof Number || (value instanceof String && value.isBigDecimal()))) {
                    errors << "--${name} must be a number, got '${value}'"
                }
                break
            case 'boolean':
                if (!(value instanceof Boolean)) errors << "--${name} must be true or false, got '${value}'"
                break
            default:
                if (value instanceof Boolean) errors << "--${name} needs a value"
        }
        if (spec.enum && !(value.toString() in spec.enum*.toString())) {
            errors << "--${name} must be one of ${spec.enum.join(', ')}, got '${value}'"
        }
        def number = value.toString().isBigDecimal() ? value.toString().toBigDecimal() : null
        if (spec.minimum != null && number != null && number < spec.minimum) {
            errors << "--${name} must be >= ${spec.minimum}, got ${value}"
        }
        if (spec.maximum != null && number != null && number > spec.maximum) {
            errors << "--${name} must be <= ${spec.maximum}, got ${value}"
        }
        if (spec.pattern && value instanceof CharSequence && !(value ==~ spec.pattern)) {
            errors << "--${name} '${value}' does not match ${spec.pattern}${spec.pattern_help ? ' (' + spec.pattern_help + ')' : ''}"
        }
        if (spec.format == 'file-path' && value instanceof CharSequence && !(value ==~ /^[a-z0-9]+:\/\/.*/)
                && !file(value.toString()).exists()) {
            errors << "--${name}: file not found: ${value}"
        }
    }
    defs.findAll { name, spec -> spec.required && !params[name] }.each { name, spec ->
        errors << "missing required parameter --${name}: ${spec.description}"
    }
    if (params.motif_database && !(params.motif_database.toString() ==~ /(?i)jaspar(\d{4})?/)
            && !file(params.motif_database.toString()).exists()) {
        errors << "--motif_database: not found: ${params.motif_database} (a MEME file, or 'jaspar' for the JASPAR database bundled with pyjaspar)"
    }
    if (params.pretrained_weights && params.pretrained_weights != 'none' && !file(params.pretrained_weights.toString()).exists()) {
        errors << "--pretrained_weights: not found: ${params.pretrained_weights} (a local copy of the official Enformer weights, or 'none')"
    }
    // the two modes: train from a samplesheet, or score with a trained model
    if (params.checkpoint && params.input) {
        log.warn "--checkpoint given: a score-only run, the samplesheet ${params.input} is not read (observed signal " +
            "for the variant panels comes from --bigwigs STAGE=FILE,...)"
    } else if (!params.checkpoint && !params.input) {
        errors << "missing required parameter --input: ${defs.input.description} (or --checkpoint best.pt to score variants with a trained model)"
    }
    if (params.checkpoint && !params.variants) {
        errors << "--checkpoint needs --variants: a score-only run scores a VCF or TSV of variants"
    }
    if (params.bigwigs && !params.checkpoint) {
        errors << "--bigwigs is for score-only runs (--checkpoint); training runs take the bigWigs from the samplesheet"
    }
    if (errors) {
        error("Invalid parameters:\n  * " + errors.join('\n  * '))
    }
}
