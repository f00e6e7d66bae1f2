using System.Collections.Immutable;

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
    public ImmutableArray<string> ExtraArgs { get; init; } = [];

    /// <summary>vLLM's own default share of the memory pool when the flag is not given.</summary>
    public const double DefaultGpuMemoryUtilization = 0.9;

    public double EffectiveGpuMemoryUtilization => GpuMemoryUtilization ?? DefaultGpuMemoryUtilization;

    public bool Equals(VllmFlags? other) =>
        other is not null
        && MaxModelLen == other.MaxModelLen
        && GpuMemoryUtilization == other.GpuMemoryUtilization
        && MaxNumSeqs == other.MaxNumSeqs
        && TensorParallelSize == other.TensorParallelSize
        && Quantization == other.Quantization
        && KvCacheDtype == other.KvCacheDtype
        && EnablePrefixCaching == other.EnablePrefixCaching
        && EnforceEager == other.EnforceEager
        && TrustRemoteCode == other.TrustRemoteCode
        && ToolCallParser == other.ToolCallParser
        && ReasoningParser == other.ReasoningParser
        && ExtraArgs.SequenceEqual(other.ExtraArgs);

    public override int GetHashCode() => HashCode.Combine(MaxModelLen, GpuMemoryUtilization, MaxNumSeqs, Quantization, ToolCallParser, ExtraArgs.Length);
}
