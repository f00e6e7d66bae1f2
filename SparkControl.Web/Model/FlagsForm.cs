using System.Globalization;
using SparkControl.Core.Catalog;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Model;

/// <summary>
/// The flags editor's working copy. Numbers are kept as typed: text that is not a number is an error on its field,
/// never read as an empty field (which would drop the flag). Extra arguments are edited one token per line.
/// </summary>
public sealed class FlagsForm
{
    public string? MaxModelLen { get; set; }
    public string? GpuMemoryUtilization { get; set; }
    public string? MaxNumSeqs { get; set; }
    public string? TensorParallelSize { get; set; }
    public string? Quantization { get; set; }
    public string? KvCacheDtype { get; set; }
    public string PrefixCaching { get; set; } = "default";
    public bool EnforceEager { get; set; }
    public bool TrustRemoteCode { get; set; }
    public string? ToolCallParser { get; set; }
    public string? ReasoningParser { get; set; }
    public string ExtraArgs { get; set; } = string.Empty;

    public static FlagsForm From(VllmFlags flags) => new()
    {
        MaxModelLen = flags.MaxModelLen?.ToString(CultureInfo.InvariantCulture),
        GpuMemoryUtilization = flags.GpuMemoryUtilization?.ToString(CultureInfo.InvariantCulture),
        MaxNumSeqs = flags.MaxNumSeqs?.ToString(CultureInfo.InvariantCulture),
        TensorParallelSize = flags.TensorParallelSize?.ToString(CultureInfo.InvariantCulture),
        Quantization = flags.Quantization,
        KvCacheDtype = flags.KvCacheDtype,
        PrefixCaching = flags.EnablePrefixCaching switch { true => "on", false => "off", null => "default" },
        EnforceEager = flags.EnforceEager,
        TrustRemoteCode = flags.TrustRemoteCode,
        ToolCallParser = flags.ToolCallParser,
        ReasoningParser = flags.ReasoningParser,
        ExtraArgs = string.Join('\n', flags.ExtraArgs),
    };

    /// <summary>The flags as typed, and every problem with them, each naming its field (the API's rules for the rest).</summary>
    public IReadOnlyList<FieldError> Read(out VllmFlags flags)
    {
        var errors = new List<FieldError>();
        int? Whole(string? text, string field)
        {
            if (Validators.WholeNumber(text, out var value, field) is { } error)
            {
                errors.Add(new FieldError(field, error));
            }

            return value;
        }

        var maxModelLen = Whole(MaxModelLen, "maxModelLen");
        var maxNumSeqs = Whole(MaxNumSeqs, "maxNumSeqs");
        var tensorParallelSize = Whole(TensorParallelSize, "tensorParallelSize");
        if (Validators.Number(GpuMemoryUtilization, out var utilization, "gpuMemoryUtilization") is { } utilizationError)
        {
            errors.Add(new FieldError("gpuMemoryUtilization", utilizationError));
        }

        flags = ModelInput.ToFlags(new ModelInput.FlagsBody(
            maxModelLen, utilization, maxNumSeqs, tensorParallelSize, Quantization, KvCacheDtype,
            PrefixCaching switch { "on" => true, "off" => false, _ => null },
            EnforceEager, TrustRemoteCode, ToolCallParser, ReasoningParser,
            ExtraArgs.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
        errors.AddRange(VllmFlagRules.Validate(flags));
        return errors;
    }
}
