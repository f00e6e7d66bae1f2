namespace SparkControl.Benchmarks;

/// <summary>The harnesses' summaries, so every table's "median" and "p95" mean the same thing.</summary>
internal static class Stats
{
    /// <summary>The middle value, or the mean of the two middle ones; NaN with no values (a table shows it as such).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The nearest-rank percentile (<paramref name="percent"/> from 0 to 100): a value that was measured, never interpolated.</summary>
    public static double Percentile(IEnumerable<double> values, double percent)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(sorted.Length * percent / 100) - 1, 0, sorted.Length - 1)];
    }
}
