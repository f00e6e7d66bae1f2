using System.Globalization;
using System.Text.RegularExpressions;

namespace SparkControl.Core.Units;

/// <summary>Docker-style sizes: <c>512m</c>, <c>16g</c>, <c>1.5g</c>, or plain bytes.</summary>
public static partial class ByteSize
{
    /// <summary>Reads a size exactly as written: digits, an optional fraction, an optional unit; no spaces, no signs, no exponents.</summary>
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        var match = SizePattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        long multiplier = char.ToLowerInvariant(match.Groups[2].ValueSpan is [var unit] ? unit : 'b') switch
        {
            'k' => 1L << 10,
            'm' => 1L << 20,
            'g' => 1L << 30,
            't' => 1L << 40,
            _ => 1,
        };
        if (!double.TryParse(match.Groups[1].ValueSpan, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value * multiplier > long.MaxValue / 2)
        {
            return false;
        }

        bytes = (long)Math.Round(value * multiplier);
        return true;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^([0-9]{1,15}(?:\.[0-9]{1,6})?)([kmgtbKMGTB]?)\z", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex SizePattern();

    /// <summary>The shortest exact Docker-style spelling: <c>16g</c>, <c>1536m</c>, or bytes.</summary>
    public static string Format(long bytes)
    {
        foreach (var (suffix, size) in new[] { ("t", 1L << 40), ("g", 1L << 30), ("m", 1L << 20), ("k", 1L << 10) })
        {
            if (bytes >= size && bytes % size == 0)
            {
                return $"{bytes / size}{suffix}";
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>For people: <c>14.2 GB</c> (decimal units, as disks are sold).</summary>
    public static string Human(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1000 && unit < units.Length - 1)
        {
            value /= 1000;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : $"{value.ToString(value >= 100 ? "0" : "0.0", CultureInfo.InvariantCulture)} {units[unit]}";
    }

    /// <summary>For memory: <c>121.7 GiB</c> (binary units, as /proc/meminfo counts).</summary>
    public static string HumanBinary(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : $"{value.ToString(value >= 100 ? "0" : "0.0", CultureInfo.InvariantCulture)} {units[unit]}";
    }
}
