namespace SparkControl.Core.Hosts;

/// <summary>
/// One nvidia-smi sample of one GPU. Every field may be null: GB10 reports memory as <c>[N/A]</c>, and a field the
/// query did not ask for is unknown, not zero.
/// </summary>
public sealed record GpuSample(
    DateTimeOffset Timestamp,
    int GpuIndex,
    double? UtilizationPercent,
    double? MemoryUsedMiB = null,
    double? MemoryTotalMiB = null,
    double? PowerDrawWatts = null,
    double? TemperatureCelsius = null);

/// <summary>One row of <c>nvidia-smi --query-compute-apps</c>.</summary>
public sealed record GpuComputeApp(string GpuUuid, int Pid, string ProcessName, double? UsedMemoryMiB);

/// <summary>Unified memory from <c>/proc/meminfo</c>; on GB10 this is the GPU's memory too.</summary>
public sealed record MemoryInfo(long TotalBytes, long AvailableBytes)
{
    public long UsedBytes => TotalBytes - AvailableBytes;
}
