using System.Collections.Immutable;
using System.Globalization;

namespace SparkControl.Sim.Vllm;

/// <summary>The options of one <c>vllm serve</c> invocation, as far as the simulator cares.</summary>
public sealed record VllmServeOptions
{
    public required string Model { get; init; }
    public ImmutableArray<string> ServedModelNames { get; init; } = [];
    public string Host { get; init; } = "0.0.0.0";
    public int Port { get; init; } = 8000;
    public int? MaxModelLen { get; init; }
    public double GpuMemoryUtilization { get; init; } = 0.9;
    public int MaxNumSeqs { get; init; } = 256;
    public int TensorParallelSize { get; init; } = 1;
    public string? ApiKey { get; init; }
    public ImmutableDictionary<string, string?> Given { get; init; } = ImmutableDictionary<string, string?>.Empty;

    /// <summary><c>--lora-modules</c>: the adapters to load at start, each served under its own name.</summary>
    public ImmutableArray<VllmLoraModule> LoraModules { get; init; } = [];

    public bool EnableLora => Given.ContainsKey("--enable-lora");

    /// <summary><c>--max-lora-rank</c>, 16 unless given (vLLM's default).</summary>
    public int MaxLoraRank { get; init; } = 16;

    /// <summary>The name clients use: the first served name, else the model argument, as vLLM does.</summary>
    public string ServedName => ServedModelNames.IsDefaultOrEmpty ? Model : ServedModelNames[0];

    public int EffectiveMaxModelLen => MaxModelLen ?? 32768;
}

/// <summary>One <c>--lora-modules</c> entry: <c>name=path</c>, or vLLM's JSON form with name and path.</summary>
public sealed record VllmLoraModule(string Name, string Path);

/// <summary>A command line vLLM would refuse: the message and exit code argparse would give.</summary>
public sealed record VllmCliError(string Message, int ExitCode);

/// <summary>
/// Parses <c>vllm serve &lt;model&gt; [flags]</c> the way vLLM's argparse does: long flags with a space or '=',
/// a few short aliases, boolean flags, <c>nargs='+'</c> for served names, and "unrecognized arguments" for the rest.
/// </summary>
public static class VllmCli
{
    private enum Arity
    {
        Flag,
        One,
        OneOrMore,
    }

    private enum ValueType
    {
        Text,
        Int,
        Float,
        Choice,
    }

    private sealed record Spec(Arity Arity, ValueType Type = ValueType.Text, ImmutableArray<string> Choices = default);

    private static readonly ImmutableDictionary<string, Spec> Flags = new Dictionary<string, Spec>
    {
        ["--model"] = new(Arity.One),
        ["--host"] = new(Arity.One),
        ["--port"] = new(Arity.One, ValueType.Int),
        ["--api-key"] = new(Arity.One),
        ["--served-model-name"] = new(Arity.OneOrMore),
        ["--revision"] = new(Arity.One),
        ["--tokenizer"] = new(Arity.One),
        ["--tokenizer-mode"] = new(Arity.One, ValueType.Choice, ["auto", "slow", "mistral", "custom"]),
        ["--chat-template"] = new(Arity.One),
        ["--generation-config"] = new(Arity.One),
        ["--download-dir"] = new(Arity.One),
        ["--load-format"] = new(Arity.One),
        ["--config-format"] = new(Arity.One),
        ["--dtype"] = new(Arity.One, ValueType.Choice, ["auto", "half", "float16", "bfloat16", "float", "float32"]),
        ["--max-model-len"] = new(Arity.One),
        ["--gpu-memory-utilization"] = new(Arity.One, ValueType.Float),
        ["--max-num-seqs"] = new(Arity.One, ValueType.Int),
        ["--max-num-batched-tokens"] = new(Arity.One, ValueType.Int),
        ["--tensor-parallel-size"] = new(Arity.One, ValueType.Int),
        ["--pipeline-parallel-size"] = new(Arity.One, ValueType.Int),
        ["--data-parallel-size"] = new(Arity.One, ValueType.Int),
        ["--quantization"] = new(Arity.One),
        ["--kv-cache-dtype"] = new(Arity.One, ValueType.Choice, ["auto", "fp8", "fp8_e4m3", "fp8_e5m2", "bfloat16"]),
        ["--enable-prefix-caching"] = new(Arity.Flag),
        ["--no-enable-prefix-caching"] = new(Arity.Flag),
        ["--enforce-eager"] = new(Arity.Flag),
        ["--trust-remote-code"] = new(Arity.Flag),
        ["--enable-auto-tool-choice"] = new(Arity.Flag),
        ["--tool-call-parser"] = new(Arity.One),
        ["--reasoning-parser"] = new(Arity.One),
        ["--enable-lora"] = new(Arity.Flag),
        ["--lora-modules"] = new(Arity.OneOrMore),
        ["--max-lora-rank"] = new(Arity.One, ValueType.Int),
        ["--disable-log-stats"] = new(Arity.Flag),
        ["--enable-log-requests"] = new(Arity.Flag),
        ["--uvicorn-log-level"] = new(Arity.One, ValueType.Choice, ["debug", "info", "warning", "error", "critical", "trace"]),
        ["--seed"] = new(Arity.One, ValueType.Int),
        ["--swap-space"] = new(Arity.One, ValueType.Float),
        ["--distributed-executor-backend"] = new(Arity.One, ValueType.Choice, ["ray", "mp", "uni", "external_launcher"]),
        ["--nnodes"] = new(Arity.One, ValueType.Int),
        ["--node-rank"] = new(Arity.One, ValueType.Int),
        ["--master-addr"] = new(Arity.One),
        ["--master-port"] = new(Arity.One, ValueType.Int),
        ["--headless"] = new(Arity.Flag),
        ["--task"] = new(Arity.One, ValueType.Choice, ["auto", "generate", "embedding", "embed", "classify", "score", "reward", "transcription"]),
        ["--runner"] = new(Arity.One, ValueType.Choice, ["auto", "generate", "pooling"]),
        ["--max-seq-len-to-capture"] = new(Arity.One, ValueType.Int),
        ["--limit-mm-per-prompt"] = new(Arity.One),
        ["--mm-processor-kwargs"] = new(Arity.One),
        ["--compilation-config"] = new(Arity.One),
        ["--speculative-config"] = new(Arity.One),
        ["--hf-overrides"] = new(Arity.One),
        ["--override-generation-config"] = new(Arity.One),
        ["--enable-chunked-prefill"] = new(Arity.Flag),
        ["--no-enable-chunked-prefill"] = new(Arity.Flag),
        ["--async-scheduling"] = new(Arity.Flag),
        ["--show-hidden-metrics-for-version"] = new(Arity.One),
        ["--enable-force-include-usage"] = new(Arity.Flag),
        ["--enable-server-load-tracking"] = new(Arity.Flag),
    }.ToImmutableDictionary(StringComparer.Ordinal);

    private static readonly ImmutableDictionary<string, string> ShortAliases = new Dictionary<string, string>
    {
        ["-tp"] = "--tensor-parallel-size",
        ["-pp"] = "--pipeline-parallel-size",
        ["-dp"] = "--data-parallel-size",
        ["-q"] = "--quantization",
    }.ToImmutableDictionary(StringComparer.Ordinal);

    public const string Usage = "usage: vllm serve [model_tag] [options]";

    /// <summary>Parses the arguments after <c>vllm</c> (starting with <c>serve</c>).</summary>
    public static (VllmServeOptions? Options, VllmCliError? Error) Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0] != "serve")
        {
            var command = args.Count == 0 ? "(none)" : args[0];
            return (null, new VllmCliError($"usage: vllm [-h] [-v] {{chat,complete,serve,bench,collect-env,run-batch}} ...\nvllm: error: argument subparser: invalid choice: '{command}' (choose from chat, complete, serve, bench, collect-env, run-batch)", 2));
        }

        string? model = null;
        var given = ImmutableDictionary.CreateBuilder<string, string?>(StringComparer.Ordinal);
        var lists = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var unrecognized = new List<string>();
        for (var i = 1; i < args.Count; i++)
        {
            var token = args[i];
            if (!token.StartsWith('-') || IsNegativeNumber(token))
            {
                if (model is null)
                {
                    model = token;
                }
                else
                {
                    unrecognized.Add(token);
                }

                continue;
            }

            var (name, inline) = SplitFlag(token);
            if (!Flags.TryGetValue(name, out var spec))
            {
                unrecognized.Add(token);
                continue;
            }

            if (ReadFlag(args, ref i, name, spec, inline, given, lists) is { } error)
            {
                return (null, error);
            }
        }

        if (unrecognized.Count > 0)
        {
            return (null, Error($"unrecognized arguments: {string.Join(' ', unrecognized)}"));
        }

        model ??= given.GetValueOrDefault("--model");
        if (model is null)
        {
            return (null, Error("the following arguments are required: model_tag"));
        }

        var lora = ImmutableArray.CreateBuilder<VllmLoraModule>();
        foreach (var item in lists.GetValueOrDefault("--lora-modules") ?? [])
        {
            if (ParseLoraModule(item) is not { } module)
            {
                return (null, Error($"argument --lora-modules: Invalid format for --lora-modules: {item}. Expected 'name=path' or a JSON object with \"name\" and \"path\"."));
            }

            lora.Add(module);
        }

        var served = lists.GetValueOrDefault("--served-model-name") ?? [];
        return (ToOptions(model, given.ToImmutable(), [.. served]) with { LoraModules = lora.ToImmutable() }, null);
    }

    /// <summary>vLLM's LoRAParserAction: a JSON object with name and path, or <c>name=path</c> split at its one '='.</summary>
    private static VllmLoraModule? ParseLoraModule(string item)
    {
        if (item.StartsWith('{'))
        {
            try
            {
                using var json = System.Text.Json.JsonDocument.Parse(item);
                return json.RootElement.TryGetProperty("name", out var n) && json.RootElement.TryGetProperty("path", out var p)
                    && n.GetString() is { Length: > 0 } name && p.GetString() is { Length: > 0 } path ? new VllmLoraModule(name, path) : null;
            }
            catch (System.Text.Json.JsonException)
            {
                return null;
            }
        }

        var parts = item.Split('=');
        return parts.Length == 2 && parts[0].Length > 0 && parts[1].Length > 0 ? new VllmLoraModule(parts[0], parts[1]) : null;
    }

    /// <summary><c>--name=value</c> into its name (short aliases resolved) and inline value; any other token is all name.</summary>
    private static (string Name, string? Inline) SplitFlag(string token)
    {
        var name = token;
        string? inline = null;
        var equals = token.IndexOf('=', StringComparison.Ordinal);
        if (token.StartsWith("--", StringComparison.Ordinal) && equals > 0)
        {
            name = token[..equals];
            inline = token[(equals + 1)..];
        }

        return (ShortAliases.GetValueOrDefault(name, name), inline);
    }

    /// <summary>
    /// Reads a known flag's value(s) as argparse does for its arity, moving <paramref name="i"/> past what it consumed;
    /// the error argparse would print, or null.
    /// </summary>
    private static VllmCliError? ReadFlag(
        IReadOnlyList<string> args, ref int i, string name, Spec spec, string? inline,
        ImmutableDictionary<string, string?>.Builder given, Dictionary<string, List<string>> lists)
    {
        switch (spec.Arity)
        {
            case Arity.Flag:
                if (inline is not null)
                {
                    return Error($"argument {name}: ignored explicit argument '{inline}'");
                }

                given[name] = null;
                return null;
            case Arity.One:
                var value = inline;
                if (value is null)
                {
                    if (i + 1 >= args.Count || (args[i + 1].StartsWith('-') && !IsNegativeNumber(args[i + 1])))
                    {
                        return Error($"argument {name}: expected one argument");
                    }

                    value = args[++i];
                }

                if (CheckValue(name, spec, value) is { } valueError)
                {
                    return valueError;
                }

                given[name] = value;
                return null;
            default: // Arity.OneOrMore
                var values = new List<string>();
                if (inline is not null)
                {
                    values.Add(inline);
                }

                while (i + 1 < args.Count && !args[i + 1].StartsWith('-'))
                {
                    values.Add(args[++i]);
                }

                if (values.Count == 0)
                {
                    return Error($"argument {name}: expected at least one argument");
                }

                given[name] = string.Join(' ', values);
                lists[name] = values;
                return null;
        }
    }

    /// <summary>The options vLLM would run with: what was given, vLLM's defaults for the rest.</summary>
    private static VllmServeOptions ToOptions(string model, ImmutableDictionary<string, string?> given, ImmutableArray<string> served) => new()
    {
        Model = model,
        ServedModelNames = served,
        Host = given.GetValueOrDefault("--host") ?? "0.0.0.0",
        Port = given.TryGetValue("--port", out var port) ? int.Parse(port!, CultureInfo.InvariantCulture) : 8000,
        MaxModelLen = given.TryGetValue("--max-model-len", out var len) ? ParseLength(len!) : null,
        GpuMemoryUtilization = given.TryGetValue("--gpu-memory-utilization", out var util) ? double.Parse(util!, CultureInfo.InvariantCulture) : 0.9,
        MaxNumSeqs = given.TryGetValue("--max-num-seqs", out var seqs) ? int.Parse(seqs!, CultureInfo.InvariantCulture) : 256,
        TensorParallelSize = given.TryGetValue("--tensor-parallel-size", out var tp) ? int.Parse(tp!, CultureInfo.InvariantCulture) : 1,
        ApiKey = given.GetValueOrDefault("--api-key"),
        MaxLoraRank = given.TryGetValue("--max-lora-rank", out var rank) ? int.Parse(rank!, CultureInfo.InvariantCulture) : 16,
        Given = given,
    };

    /// <summary>The values <c>--max-lora-rank</c> may take (vLLM's LoRAConfig).</summary>
    public static readonly ImmutableArray<int> AllowedMaxLoraRanks = [1, 8, 16, 32, 64, 128, 256, 320, 512];

    /// <summary>Checks that go beyond argparse, failing the way vLLM's engine config does (exit 1 with a ValueError line).</summary>
    public static string? ValidateEngineConfig(VllmServeOptions options)
    {
        if (options.GpuMemoryUtilization is <= 0 or > 1)
        {
            return $"ValueError: GPU memory utilization must be within (0, 1]. Got {options.GpuMemoryUtilization.ToString(CultureInfo.InvariantCulture)}.";
        }

        if (options.TensorParallelSize < 1)
        {
            return $"ValueError: tensor_parallel_size must be a positive integer, got {options.TensorParallelSize}.";
        }

        if (options.MaxModelLen is < 1)
        {
            return $"ValueError: max_model_len must be positive, got {options.MaxModelLen}.";
        }

        if (options.EnableLora && !AllowedMaxLoraRanks.Contains(options.MaxLoraRank))
        {
            return $"ValueError: max_lora_rank ({options.MaxLoraRank}) must be one of ({string.Join(", ", AllowedMaxLoraRanks)}).";
        }

        if (!options.LoraModules.IsEmpty && !options.EnableLora)
        {
            return "ValueError: LoRA modules were given (--lora-modules) but LoRA is not enabled: pass --enable-lora.";
        }

        return options.Port is < 1 or > 65535 ? $"OverflowError: bind(): port must be 0-65535." : null;
    }

    private static VllmCliError? CheckValue(string name, Spec spec, string value)
    {
        switch (spec.Type)
        {
            case ValueType.Int when !int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _):
                return Error($"argument {name}: invalid int value: '{value}'");
            case ValueType.Float when !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _):
                return Error($"argument {name}: invalid float value: '{value}'");
            case ValueType.Choice when !spec.Choices.Contains(value):
                return Error($"argument {name}: invalid choice: '{value}' (choose from {string.Join(", ", spec.Choices.Select(c => $"'{c}'"))})");
        }

        if (name == "--max-model-len" && ParseLength(value) is null)
        {
            return Error($"argument {name}: invalid human_readable_int value: '{value}'");
        }

        return null;
    }

    /// <summary>Plain integers, or newer vLLM's suffixes: <c>32k</c> (×1000), <c>32K</c> (×1024), <c>1m</c>, <c>1M</c>.</summary>
    private static int? ParseLength(string value)
    {
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var plain))
        {
            return plain;
        }

        if (value.Length < 2 || !double.TryParse(value[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }

        var multiplier = value[^1] switch
        {
            'k' => 1000.0,
            'K' => 1024.0,
            'm' => 1_000_000.0,
            'M' => 1_048_576.0,
            _ => double.NaN,
        };
        return double.IsNaN(multiplier) ? null : (int)(number * multiplier);
    }

    private static bool IsNegativeNumber(string token) =>
        token.Length > 1 && token[0] == '-' && double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static VllmCliError Error(string message) => new($"{Usage}\nvllm serve: error: {message}", 2);
}
