using System.Text.Json.Nodes;
using Peft.Net.Adapters;
using Peft.Net.Lora;

namespace Peft.Net;

/// <summary>
/// The configuration of one LoRA/DoRA adapter, field for field the <c>LoraConfig</c> of Hugging Face PEFT that is
/// stored in <c>adapter_config.json</c> (each property names its JSON field). It is plain data: <see cref="Load"/>,
/// <see cref="Save"/> and <see cref="ToJson"/> convert it with PEFT's exact field names, and
/// <c>model.ApplyLora(config)</c> performs the surgery it describes.
/// </summary>
/// <remarks>
/// <para>Target selection (PEFT's <c>check_target_module_exists</c>): <see cref="TargetModules"/> entries match a
/// module whose dotted name equals the entry or ends with <c>"." + entry</c>; <see cref="TargetModulesRegex"/> is a
/// regular expression that must match the whole dotted name, or the special value <see cref="AllLinear"/>.</para>
/// <para>Fields Peft.Net does not model (<c>loftq_config</c>, <c>megatron_config</c>, fields of newer PEFT versions…)
/// are kept in <see cref="ExtraFields"/> and written back unchanged, except fields added after PEFT 0.10 that hold
/// their defaults (<c>lora_bias: false</c>, <c>exclude_modules: null</c>, <c>eva_config: null</c>…) and
/// <c>peft_version</c>: those are left out, because PEFT 0.10–0.13 refuse every field they do not know.</para>
/// </remarks>
public sealed record LoraConfig
{
    /// <summary>The <see cref="TargetModulesRegex"/> value that selects every linear layer except the output head.</summary>
    public const string AllLinear = "all-linear";

    /// <summary><c>peft_type</c>: always "LORA" (DoRA is LoRA with <see cref="UseDora"/>).</summary>
    public string PeftType { get; init; } = "LORA";

    /// <summary>
    /// <c>task_type</c>: a PEFT task type ("CAUSAL_LM", "SEQ_CLS", …) or null (PEFT's value for a custom model). When
    /// null, <c>ApplyLora</c> takes it from a model that implements <see cref="IPeftTaskModel"/> (a Llama model gives
    /// "CAUSAL_LM").
    /// </summary>
    public string? TaskType { get; init; }

    /// <summary><c>base_model_name_or_path</c>: the base model the adapter was trained on (informational).</summary>
    public string? BaseModelNameOrPath { get; init; }

    /// <summary><c>revision</c>: the base model's revision (informational).</summary>
    public string? Revision { get; init; }

    /// <summary><c>inference_mode</c>: adapter weights frozen. PEFT forces it to true when saving.</summary>
    public bool InferenceMode { get; init; }

    /// <summary><c>r</c>: the LoRA rank (default 8); must be positive.</summary>
    public int R { get; init; } = 8;

    /// <summary><c>lora_alpha</c> (default 8): scaling is <c>lora_alpha / r</c>, or <c>lora_alpha / √r</c> with <see cref="UseRsLora"/>.</summary>
    public double LoraAlpha { get; init; } = 8;

    /// <summary><c>lora_dropout</c>: dropout probability on the LoRA branch input, in [0, 1).</summary>
    public double LoraDropout { get; init; }

    /// <summary><c>target_modules</c> in list form: exact module names or dotted name suffixes (not regexes).</summary>
    public IReadOnlyList<string>? TargetModules { get; init; }

    /// <summary><c>target_modules</c> in string form: a full-name regular expression, or <see cref="AllLinear"/>.</summary>
    public string? TargetModulesRegex { get; init; }

    /// <summary><c>exclude_modules</c> in list form: exact names or dotted suffixes never adapted.</summary>
    public IReadOnlyList<string>? ExcludeModules { get; init; }

    /// <summary><c>exclude_modules</c> in string form: a full-name regular expression of modules never adapted.</summary>
    public string? ExcludeModulesRegex { get; init; }

    /// <summary><c>fan_in_fan_out</c>: the base weight is stored [in, out] (GPT-2 Conv1D). Peft.Net layers use [out, in], so false.</summary>
    public bool FanInFanOut { get; init; }

    /// <summary>
    /// <c>bias</c>: which base biases train with the adapter and are saved beside it: "none"; "all" (every bias of the
    /// model); "lora_only" (the biases of the layers LoRA wraps, <c>….base_layer.bias</c>). <c>LoadAdapter</c> loads the
    /// biases such a folder holds into the base. Disabling or unloading the adapter does not undo trained biases (as in PEFT).
    /// </summary>
    public string Bias { get; init; } = "none";

    /// <summary><c>use_rslora</c>: rank-stabilized scaling <c>lora_alpha / √r</c>.</summary>
    public bool UseRsLora { get; init; }

    /// <summary><c>modules_to_save</c>: modules (exact names or dotted suffixes) trained as full copies and saved whole.</summary>
    public IReadOnlyList<string>? ModulesToSave { get; init; }

    /// <summary>
    /// <c>init_lora_weights</c>: "true" (JSON <c>true</c>, the default: A kaiming-uniform, B zero), "false" (JSON
    /// <c>false</c>), or a method name such as "gaussian", "pissa" or "pissa_niter_4" (a JSON string).
    /// </summary>
    public string InitLoraWeights { get; init; } = "true";

    /// <summary><c>layers_to_transform</c>: only layers with these indexes are adapted (null: all).</summary>
    public IReadOnlyList<int>? LayersToTransform { get; init; }

    /// <summary><c>layers_pattern</c>: the module name(s) before the layer index, e.g. "layers" (used with <see cref="LayersToTransform"/>).</summary>
    public IReadOnlyList<string>? LayersPattern { get; init; }

    /// <summary>
    /// <c>rank_pattern</c>: per-module ranks. For each adapted module the first key (in enumeration order) whose regex
    /// matches a dotted suffix of the module name (<c>(.*\.)?(KEY)$</c>) gives its rank.
    /// </summary>
    /// <remarks>
    /// Rank and alpha keys are resolved separately, as PEFT ≥ 0.14 does. PEFT ≤ 0.13 took the first matching key of
    /// rank_pattern then alpha_pattern (with <c>.*\.KEY$</c>) and used that one key for both, so a module that matches
    /// a rank key and a different alpha key gets the global lora_alpha there. <see cref="PatternKeyDisagreements"/>
    /// lists the modules where the two differ, and <c>LoadAdapter</c> logs them as warnings.
    /// </remarks>
    public IReadOnlyDictionary<string, int> RankPattern { get; init; } = new OrderedDictionary<string, int>();

    /// <summary><c>alpha_pattern</c>: per-module <c>lora_alpha</c>, matched like <see cref="RankPattern"/>.</summary>
    public IReadOnlyDictionary<string, double> AlphaPattern { get; init; } = new OrderedDictionary<string, double>();

    /// <summary><c>use_dora</c>: weight-decomposed LoRA (a trainable magnitude vector per output feature).</summary>
    public bool UseDora { get; init; }

    /// <summary><c>lora_bias</c> (PEFT ≥ 0.14): a trainable bias on lora_B of linear layers, added as <c>scaling · b_B</c> and merged into the base bias; not with DoRA. Written to the file only when true.</summary>
    public bool LoraBias { get; init; }

    /// <summary>Other fields of <c>adapter_config.json</c>, kept as read and written back (sorted with the rest).</summary>
    public IReadOnlyDictionary<string, JsonNode?> ExtraFields { get; init; } = new Dictionary<string, JsonNode?>();

    /// <summary>True when <see cref="TargetModulesRegex"/> is <see cref="AllLinear"/> (case-insensitive, as PEFT).</summary>
    public bool TargetsAllLinear => string.Equals(TargetModulesRegex, AllLinear, StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads an <c>adapter_config.json</c> file.</summary>
    /// <exception cref="AdapterFormatException">The file is not valid JSON, a field is missing or of the wrong type, or a value is invalid; the message names the file and the field.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static LoraConfig Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: adapter config not found (an adapter folder needs {AdapterFiles.ConfigFile}).", path);
        return LoraConfigJson.Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses the text of an <c>adapter_config.json</c>; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="AdapterFormatException">Invalid JSON, a missing or wrongly typed field, or an invalid value.</exception>
    public static LoraConfig FromJson(string json, string source = AdapterFiles.ConfigFile) => LoraConfigJson.Parse(json, source);

    /// <summary>
    /// The config as PEFT writes it: JSON with keys sorted at every level, indent 2, ASCII only, <c>inference_mode</c>
    /// forced to true, and PEFT's core field set (see the reference's example) plus <see cref="ExtraFields"/>.
    /// </summary>
    public string ToJson() => LoraConfigJson.Write(this);

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public void Save(string path) => AdapterFiles.WriteTextAtomically(path, ToJson());

    /// <summary>The rank of the module named <paramref name="moduleName"/>: its <see cref="RankPattern"/> entry or <see cref="R"/>.</summary>
    public int RankFor(string moduleName) =>
        PatternKey.Find(RankPattern.Keys, moduleName) is { } key ? RankPattern[key] : R;

    /// <summary>The <c>lora_alpha</c> of the module named <paramref name="moduleName"/>: its <see cref="AlphaPattern"/> entry or <see cref="LoraAlpha"/>.</summary>
    public double AlphaFor(string moduleName) =>
        PatternKey.Find(AlphaPattern.Keys, moduleName) is { } key ? AlphaPattern[key] : LoraAlpha;

    /// <summary>
    /// The modules among <paramref name="moduleNames"/> whose rank or alpha differs between PEFT ≤ 0.13 and PEFT ≥ 0.14
    /// (which Peft.Net follows; see the remarks of <see cref="RankPattern"/>): empty when the patterns are unambiguous.
    /// </summary>
    public IReadOnlyList<PatternKeyDisagreement> PatternKeyDisagreements(IEnumerable<string> moduleNames)
    {
        ArgumentNullException.ThrowIfNull(moduleNames);
        var found = new List<PatternKeyDisagreement>();
        if (RankPattern.Count == 0 && AlphaPattern.Count == 0) return found;
        foreach (var name in moduleNames)
        {
            int rank = RankFor(name);
            double alpha = AlphaFor(name);
            var legacyKey = PatternKey.FindLegacy(RankPattern.Keys, AlphaPattern.Keys, name);
            int legacyRank = legacyKey is not null && RankPattern.TryGetValue(legacyKey, out var r) ? r : R;
            double legacyAlpha = legacyKey is not null && AlphaPattern.TryGetValue(legacyKey, out var a) ? a : LoraAlpha;
            if (rank != legacyRank || alpha != legacyAlpha)
                found.Add(new PatternKeyDisagreement(name, rank, alpha, legacyRank, legacyAlpha));
        }
        return found;
    }

    /// <summary>The scaling of a module with rank <paramref name="rank"/> and alpha <paramref name="alpha"/>: <c>alpha / r</c> or <c>alpha / √r</c>.</summary>
    public float ScalingFor(int rank, double alpha) => (float)(UseRsLora ? alpha / Math.Sqrt(rank) : alpha / rank);

    /// <summary>
    /// The <see cref="LoraInit"/> named by <see cref="InitLoraWeights"/> (<see cref="LoraInit.PiSSA"/> for both "pissa"
    /// and "pissa_niter_K"), or null for a method Peft.Net does not implement.
    /// </summary>
    public LoraInit? Init => InitLoraWeights.ToLowerInvariant() switch
    {
        "true" => LoraInit.Default,
        "gaussian" => LoraInit.Gaussian,
        "pissa" => LoraInit.PiSSA,
        _ when PissaNiter is not null => LoraInit.PiSSA,
        _ => null,
    };

    /// <summary>
    /// K of <c>init_lora_weights="pissa_niter_K"</c> (PEFT's fast PiSSA: a randomized SVD with K power iterations),
    /// or null for any other value. K is a non-negative decimal integer, as PEFT's <c>int(...)</c> reads it.
    /// </summary>
    public int? PissaNiter => ParsePissaNiter(InitLoraWeights);

    /// <summary>The <see cref="InitLoraWeights"/> value of PEFT's fast PiSSA with <paramref name="niter"/> power iterations: "pissa_niter_K".</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="niter"/> is negative.</exception>
    public static string PissaNiterName(int niter)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(niter);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{PissaNiterPrefix}{niter}");
    }

    private const string PissaNiterPrefix = "pissa_niter_";

    private static int? ParsePissaNiter(string name)
    {
        if (!name.StartsWith(PissaNiterPrefix, StringComparison.OrdinalIgnoreCase)) return null;
        var digits = name.AsSpan(PissaNiterPrefix.Length);
        if (digits.IsEmpty || digits.Length > 9) return null;
        foreach (char c in digits)
            if (c is < '0' or > '9') return null;
        return int.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The <see cref="InitLoraWeights"/> value for <paramref name="init"/>: "true", "gaussian" or "pissa".</summary>
    public static string InitName(LoraInit init) => init switch
    {
        LoraInit.Default => "true",
        LoraInit.Gaussian => "gaussian",
        LoraInit.PiSSA => "pissa",
        _ => throw new ArgumentOutOfRangeException(nameof(init), init, "Unknown LoRA initialisation."),
    };

    /// <summary>The first problem that makes this config unusable (null when it is valid), naming the JSON field.</summary>
    internal string? FindProblem()
    {
        if (PeftType != "LORA") return $"'peft_type' is \"{PeftType}\"; only \"LORA\" adapters are supported";
        if (R <= 0) return $"'r' must be a positive integer, found {R}";
        if (!double.IsFinite(LoraAlpha)) return $"'lora_alpha' must be a finite number, found {LoraAlpha}";
        if (!(LoraDropout >= 0 && LoraDropout < 1)) return $"'lora_dropout' must be in [0, 1), found {LoraDropout}";
        if (TargetModules is not null && TargetModulesRegex is not null) return "'target_modules' is given both as a list and as a regex";
        if (ExcludeModules is not null && ExcludeModulesRegex is not null) return "'exclude_modules' is given both as a list and as a regex";
        foreach (var (key, rank) in RankPattern)
            if (rank <= 0) return $"'rank_pattern' entry \"{key}\" must be a positive integer, found {rank}";
        foreach (var (key, alpha) in AlphaPattern)
            if (!double.IsFinite(alpha)) return $"'alpha_pattern' entry \"{key}\" must be a finite number, found {alpha}";
        foreach (var key in RankPattern.Keys.Concat(AlphaPattern.Keys))
            if (PatternKey.TryCompile(key) is { } error) return $"pattern key \"{key}\" is not a valid regex: {error}";
        if (TargetModulesRegex is not null && !TargetsAllLinear && TargetRegexes.TryCompileFullMatch(TargetModulesRegex) is { } bad)
            return $"'target_modules' regex \"{TargetModulesRegex}\" is not valid: {bad}";
        return null;
    }
}
