namespace SparkControl.Core.Gpu;

/// <summary>
/// Wall time of one Spark split into the ledger's states. The five parts add up to the wall time they cover: busy is
/// the integral of <c>utilization.gpu</c>/100 over all sampled time, and the rest of that time is loaded-idle, loading
/// (while a swap brings a model up), no-model or (before the model is known) unknown; gaps in the samples are unknown.
/// </summary>
public readonly record struct LedgerSeconds(double Busy, double LoadedIdle, double Loading, double NoModel, double Unknown)
{
    public static readonly LedgerSeconds Zero = default;

    public double Total => Busy + LoadedIdle + Loading + NoModel + Unknown;

    /// <summary>The seconds of each state under the name the metrics give it.</summary>
    public IEnumerable<(string State, double Seconds)> ByState() =>
        [("busy", Busy), ("loaded_idle", LoadedIdle), ("loading", Loading), ("no_model", NoModel), ("unknown", Unknown)];

    /// <summary>The time the GPU was watched: everything but <see cref="Unknown"/>.</summary>
    public double Observed => Total - Unknown;

    /// <summary>Busy time as a share of the time watched; null when nothing was watched.</summary>
    public double? BusyRatio => Observed > 0 ? Busy / Observed : null;

    public LedgerSeconds Scale(double factor) =>
        new(Busy * factor, LoadedIdle * factor, Loading * factor, NoModel * factor, Unknown * factor);

    public static LedgerSeconds operator +(LedgerSeconds a, LedgerSeconds b) =>
        new(a.Busy + b.Busy, a.LoadedIdle + b.LoadedIdle, a.Loading + b.Loading, a.NoModel + b.NoModel, a.Unknown + b.Unknown);
}

/// <summary>One minute of one Spark attributed to one model (null: no model, or not known).</summary>
public readonly record struct LedgerKey(string Spark, string? Model, DateTimeOffset Minute);
