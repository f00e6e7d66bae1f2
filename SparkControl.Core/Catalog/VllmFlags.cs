using System.Collections.Immutable;
using SparkControl.Core.Collections;

namespace SparkControl.Core.Catalog;

/// <summary>
/// The vLLM flags operators tune, as typed fields, plus validated extra arguments for everything else. Null means
/// "vLLM's default" and emits nothing.
/// </summary>
public sealed record VllmFlags
{
    public static readonly VllmFlags Default = new();

    public int? MaxModelLen { get; init; }
    public double? GpuMemoryUtilization { get; init; }
    public int? MaxNumSeqs { get; init; }
    public int? TensorParallelSize { get; init; }
    public string? Quantization { get; init; }
    public string? KvCacheDtype { get; init; }
    public bool? EnablePrefixCaching { get; init; }
    public bool EnforceEager { get; init; }
    public bool TrustRemoteCode { get; init; }
    public string? ToolCallParser { get; init; }
    public string? ReasoningParser { get; init; }
    public ValueArray<string> ExtraArgs { get; init; } = [];

    /// <summary>vLLM's own default share of the memory pool when the flag is not given.</summary>
    public const double DefaultGpuMemoryUtilization = 0.9;

    public double EffectiveGpuMemoryUtilization => GpuMemoryUtilization ?? DefaultGpuMemoryUtilization;
}
