using Microsoft.AspNetCore.Components;
using SparkControl.Core.Disk;
using SparkControl.Core.Units;
using SparkControl.Web;

namespace SparkControl.Web.Components.Controls;

public partial class DiskSummary
{
    [Parameter, EditorRequired]
    public IReadOnlyList<ModelDiskUsage> Usage { get; set; } = [];

    /// <summary>"14.2 GB on spark-1", "absent on spark-2 (3.1 TB free)", "partial: 4.0 GB of 16.4 GB on demo".</summary>
    public static string Describe(ModelDiskUsage usage) => usage switch
    {
        { Error: { } error } => $"{usage.Spark}: cannot measure ({error})",
        { Partial: true } => $"partial: {ByteSize.Human(usage.Bytes ?? 0)} of {ByteSize.Human(usage.ExpectedBytes ?? 0)} on {usage.Spark}",
        { Present: true } => $"{ByteSize.Human(usage.Bytes ?? 0)} on {usage.Spark}",
        _ => $"absent on {usage.Spark}{(usage.FreeBytes is { } free ? $" ({ByteSize.Human(free)} free)" : string.Empty)}",
    };
}
