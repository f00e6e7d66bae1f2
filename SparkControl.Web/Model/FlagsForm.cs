using SparkControl.Core.Catalog;

namespace SparkControl.Web.Model;

/// <summary>The flags editor's working copy; extra arguments are edited one token per line.</summary>
public sealed class FlagsForm
{
    public int? MaxModelLen { get; set; }
    public double? GpuMemoryUtilization { get; set; }
    public int? MaxNumSeqs { get; set; }
    public int? TensorParallelSize { get; set; }
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
        MaxModelLen = flags.MaxModelLen,
        GpuMemoryUtilization = flags.GpuMemoryUtilization,
        MaxNumSeqs = flags.MaxNumSeqs,
        TensorParallelSize = flags.TensorParallelSize,
        Quantization = flags.Quantization,
        KvCacheDtype = flags.KvCacheDtype,
        PrefixCaching = flags.EnablePrefixCaching switch { true => "on", false => "off", null => "default" },
        EnforceEager = flags.EnforceEager,
        TrustRemoteCode = flags.TrustRemoteCode,
        ToolCallParser = flags.ToolCallParser,
        ReasoningParser = flags.ReasoningParser,
        ExtraArgs = string.Join('\n', flags.ExtraArgs),
    };

    public VllmFlags ToFlags() => ModelInput.ToFlags(new ModelInput.FlagsBody(
        MaxModelLen, GpuMemoryUtilization, MaxNumSeqs, TensorParallelSize, Quantization, KvCacheDtype,
        PrefixCaching switch { "on" => true, "off" => false, _ => null },
        EnforceEager, TrustRemoteCode, ToolCallParser, ReasoningParser,
        ExtraArgs.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
}
