namespace SparkControl.Core.Gpu;

/// <summary>Bucket boundaries of the ledger's rollups, in UTC.</summary>
public static class LedgerTime
{
    public static DateTimeOffset Minute(DateTimeOffset at) => Floor(at, TimeSpan.TicksPerMinute);

    public static DateTimeOffset Hour(DateTimeOffset at) => Floor(at, TimeSpan.TicksPerHour);

    public static DateTimeOffset Day(DateTimeOffset at) => Floor(at, TimeSpan.TicksPerDay);

    public static DateTimeOffset Floor(DateTimeOffset at, long ticks)
    {
        var utc = at.UtcTicks;
        return new DateTimeOffset(utc - (utc % ticks), TimeSpan.Zero);
    }

    public static DateTimeOffset Ceiling(DateTimeOffset at, long ticks)
    {
        var floor = Floor(at, ticks);
        return floor == at ? floor : floor.AddTicks(ticks);
    }
}
