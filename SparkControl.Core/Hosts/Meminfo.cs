using System.Globalization;

namespace SparkControl.Core.Hosts;

/// <summary>Parses <c>/proc/meminfo</c>. Used memory on a Spark is <c>MemTotal - MemAvailable</c>; nvidia-smi cannot say.</summary>
public static class Meminfo
{
    public static MemoryInfo Parse(string text)
    {
        long? total = null, available = null;
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var key = line[..colon].Trim();
            if (key is not ("MemTotal" or "MemAvailable"))
            {
                continue;
            }

            var parts = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0 || !long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            var bytes = parts.Length > 1 && parts[1].Equals("kB", StringComparison.OrdinalIgnoreCase) ? value * 1024 : value;
            if (key == "MemTotal")
            {
                total = bytes;
            }
            else
            {
                available = bytes;
            }
        }

        if (total is null || available is null)
        {
            throw new FormatException("/proc/meminfo has no MemTotal or MemAvailable line.");
        }

        return new MemoryInfo(total.Value, available.Value);
    }
}
