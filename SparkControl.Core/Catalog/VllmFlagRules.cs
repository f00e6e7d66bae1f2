using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Catalog;

/// <summary>What a model's vLLM flags may hold: the flags the panel manages itself, the allowed values, the checks.</summary>
public static partial class VllmFlagRules
{
    /// <summary>Flags the panel sets itself; an operator changes them through their own fields, never through extra arguments.</summary>
    public static readonly ImmutableHashSet<string> ManagedFlags =
    [
        "--model", "--port", "--host", "--served-model-name", "--api-key",
        "--max-model-len", "--gpu-memory-utilization", "--max-num-seqs", "--tensor-parallel-size", "--quantization",
        "--kv-cache-dtype", "--enable-prefix-caching", "--no-enable-prefix-caching", "--enforce-eager", "--trust-remote-code",
        "--tool-call-parser", "--enable-auto-tool-choice", "--reasoning-parser",
    ];

    public static readonly ImmutableArray<string> KvCacheDtypes = ["auto", "fp8", "fp8_e4m3", "fp8_e5m2", "bfloat16"];

    public static readonly ImmutableArray<string> Quantizations =
        ["awq", "gptq", "fp8", "modelopt", "modelopt_fp4", "bitsandbytes", "gguf", "compressed-tensors", "mxfp4", "awq_marlin", "gptq_marlin"];

    /// <summary>Every problem with <paramref name="flags"/>, each naming its field; empty when the flags are usable.</summary>
    public static IReadOnlyList<FieldError> Validate(VllmFlags flags)
    {
        var errors = new List<FieldError>();
        if (flags.MaxModelLen is { } len && len is < 16 or > 10_000_000)
        {
            errors.Add(new("maxModelLen", $"maxModelLen must be between 16 and 10000000 tokens, not {len}"));
        }

        if (flags.GpuMemoryUtilization is { } util && (!double.IsFinite(util) || util is <= 0 or > 1))
        {
            errors.Add(new("gpuMemoryUtilization", "gpuMemoryUtilization is a share of the memory pool: above 0 and at most 1 (e.g. 0.7)"));
        }

        if (flags.MaxNumSeqs is { } seqs && seqs is < 1 or > 4096)
        {
            errors.Add(new("maxNumSeqs", $"maxNumSeqs must be between 1 and 4096, not {seqs}"));
        }

        if (flags.TensorParallelSize is { } tp && tp is not (1 or 2))
        {
            errors.Add(new("tensorParallelSize", "tensorParallelSize is 1 on one Spark or 2 across both"));
        }

        if (flags.Quantization is { } quantization && !Quantizations.Contains(quantization))
        {
            errors.Add(new("quantization", $"quantization '{Validators.Printable(quantization)}' is not one of {string.Join(", ", Quantizations)} (leave it empty to let vLLM detect it)"));
        }

        if (flags.KvCacheDtype is { } kv && !KvCacheDtypes.Contains(kv))
        {
            errors.Add(new("kvCacheDtype", $"kvCacheDtype must be one of {string.Join(", ", KvCacheDtypes)}"));
        }

        if (flags.ToolCallParser is { } tool && !ParserNamePattern().IsMatch(tool))
        {
            errors.Add(new("toolCallParser", $"toolCallParser '{Validators.Printable(tool)}' is not a parser name (lower-case letters, digits and '_', like hermes or qwen3_coder)"));
        }

        if (flags.ReasoningParser is { } reasoning && !ParserNamePattern().IsMatch(reasoning))
        {
            errors.Add(new("reasoningParser", $"reasoningParser '{Validators.Printable(reasoning)}' is not a parser name (lower-case letters, digits and '_', like deepseek_r1 or qwen3)"));
        }

        errors.AddRange(ValidateExtraArgs(flags.ExtraArgs));
        return errors;
    }

    /// <summary>
    /// Extra arguments are flag names from a pattern, each followed by zero or more values; values pass
    /// <see cref="Validators.FlagValue"/> and are always sent as separate, quoted arguments.
    /// </summary>
    public static IReadOnlyList<FieldError> ValidateExtraArgs(IReadOnlyList<string> extraArgs)
    {
        var errors = new List<FieldError>();
        if (extraArgs.Count > 64)
        {
            errors.Add(new("extraArgs", "at most 64 extra arguments"));
            return errors;
        }

        string? currentFlag = null;
        for (var i = 0; i < extraArgs.Count; i++)
        {
            var token = extraArgs[i] ?? string.Empty;
            if (token.StartsWith("--", StringComparison.Ordinal))
            {
                var equals = token.IndexOf('=', StringComparison.Ordinal);
                var name = equals < 0 ? token : token[..equals];
                if (Validators.FlagName(name) is { } nameError)
                {
                    errors.Add(new($"extraArgs[{i}]", nameError));
                    continue;
                }

                if (ManagedFlags.Contains(name))
                {
                    errors.Add(new($"extraArgs[{i}]", $"{name} is set by the panel; use its own field instead of extra arguments"));
                    continue;
                }

                if (equals >= 0 && Validators.FlagValue(token[(equals + 1)..], name) is { } inlineError)
                {
                    errors.Add(new($"extraArgs[{i}]", inlineError));
                }

                currentFlag = name;
            }
            else if (currentFlag is null)
            {
                errors.Add(new($"extraArgs[{i}]", $"'{Validators.Printable(token)}' must follow a flag: extra arguments start with --flag-name"));
            }
            else if (Validators.FlagValue(token, currentFlag) is { } valueError)
            {
                errors.Add(new($"extraArgs[{i}]", valueError));
            }
        }

        return errors;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_]{0,39}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ParserNamePattern();
}
