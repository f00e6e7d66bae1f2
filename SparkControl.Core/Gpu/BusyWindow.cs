namespace SparkControl.Core.Gpu;

/// <summary>Busy and watched seconds over a trailing window of sample time, kept as running sums.</summary>
public sealed class BusyWindow(TimeSpan length)
{
    private readonly Queue<(DateTimeOffset End, double Observed, double Busy)> _intervals = new();
    private double _observed;
    private double _busy;

    public double? Ratio => _observed > 0 ? Math.Clamp(_busy / _observed, 0, 1) : null;

    public void Add(DateTimeOffset end, LedgerSeconds seconds)
    {
        if (seconds.Observed > 0)
        {
            _intervals.Enqueue((end, seconds.Observed, seconds.Busy));
            _observed += seconds.Observed;
            _busy += seconds.Busy;
        }

        while (_intervals.TryPeek(out var oldest) && oldest.End < end - length)
        {
            _intervals.Dequeue();
            _observed -= oldest.Observed;
            _busy -= oldest.Busy;
        }
    }
}
