using SparkControl.Core.Collections;
using SparkControl.Core.Units;

namespace SparkControl.Core.Swaps;

/// <summary>One claim on a Spark's unified memory.</summary>
public sealed record BudgetItem(string Name, double GiB, string Basis);

/// <summary>
/// Whether a model fits a Spark's unified memory next to the services that stay: planned (the new model's
/// reservation, every co-resident service's estimate and a reserve for the system, against MemTotal) and now
/// (MemAvailable plus what the swap frees, against the reservation and the system's reserve: MemAvailable counts what
/// the system holds now, not the headroom it needs once the model has taken the rest).
/// </summary>
public sealed record MemoryBudget
{
    private const double GiB = 1L << 30;

    public required string Spark { get; init; }
    public required double TotalGiB { get; init; }
    public required double AvailableGiB { get; init; }
    public required double ReserveGiB { get; init; }
    public required BudgetItem Model { get; init; }
    public ValueArray<BudgetItem> Services { get; init; } = [];

    /// <summary>What the swap releases before launching: the old model's reservation and the services it stops.</summary>
    public ValueArray<BudgetItem> Freed { get; init; } = [];

    /// <summary>Processes nvidia-smi reports on the GPU now (memory may be unknown on GB10).</summary>
    public ValueArray<BudgetItem> GpuProcesses { get; init; } = [];

    public double PlannedGiB => Model.GiB + Services.Sum(s => s.GiB) + ReserveGiB;

    public double AvailableAfterFreeingGiB => AvailableGiB + Freed.Sum(f => f.GiB);

    /// <summary>What must be free when the model starts: its reservation and the system's reserve.</summary>
    public double NeededNowGiB => Model.GiB + ReserveGiB;

    /// <summary>The weights each Spark holds (the catalog's download size, split across a cluster's nodes), when known.</summary>
    public double? WeightsGiB { get; init; }

    public bool FitsPlan => PlannedGiB <= TotalGiB;

    public bool FitsNow => NeededNowGiB <= AvailableAfterFreeingGiB;

    /// <summary>The weights alone are larger than what the model server may take: it cannot load them.</summary>
    public bool WeightsExceedReservation => WeightsGiB > Model.GiB;

    public bool Fits => FitsPlan && FitsNow;

    public string Summary => Fits
        ? $"{Spark}: {Model.Name} takes {F(Model.GiB)} GiB; with the services and {F(ReserveGiB)} GiB for the system that is {F(PlannedGiB)} of {F(TotalGiB)} GiB."
        : !FitsPlan
            ? $"{Spark}: {Model.Name} needs {F(Model.GiB)} GiB, the services that stay {F(Services.Sum(s => s.GiB))} GiB and the system {F(ReserveGiB)} GiB: {F(PlannedGiB)} GiB of {F(TotalGiB)} GiB. Stop services, or lower gpu-memory-utilization."
            : $"{Spark}: {Model.Name} needs {F(NeededNowGiB)} GiB ({F(Model.GiB)} GiB for the model, {F(ReserveGiB)} GiB for the system) but only {F(AvailableAfterFreeingGiB)} GiB would be free ({F(AvailableGiB)} GiB available now, {F(Freed.Sum(f => f.GiB))} GiB freed by the swap). Stop services, or lower gpu-memory-utilization.";

    /// <summary>The warning when <see cref="WeightsExceedReservation"/>, with both numbers.</summary>
    public string? WeightsWarning => WeightsExceedReservation
        ? $"{Spark}: {Model.Name} weights {F(WeightsGiB!.Value)} GiB ({ByteSize.Human((long)(WeightsGiB.Value * GiB))}) exceed the {F(Model.GiB)} GiB reservation ({Model.Basis}): the model server cannot load them. Raise gpu-memory-utilization, or choose a smaller quantization."
        : null;

    public static double ToGiB(long bytes) => bytes / GiB;

    private static string F(double value) => Units.ByteSize.GiBNumber(value);
}
