using System.Globalization;
using System.Text.RegularExpressions;

namespace SparkControl.Core.Units;

/// <summary>Docker-style sizes: <c>512m</c>, <c>16g</c>, <c>1.5g</c>, or plain bytes.</summary>
public static partial class ByteSize
{
    /// <summary>The largest size read: 4194304t (2^62 bytes), far above any memory, small enough to add without overflow.</summary>
    public const long MaxBytes = 1L << 62;

    /// <summary>Reads a size exactly as written: digits, an optional fraction, an optional unit; no spaces, no signs, no exponents.</summary>
    public static bool TryParse(string text, out long bytes) => Parse(text, out bytes) == ByteSizeParse.Ok;

    /// <summary>
    /// As <see cref="TryParse"/>, telling a size that is well written but larger than <see cref="MaxBytes"/> from one
    /// that is not a size at all, so the operator is told which.
    /// </summary>
    public static ByteSizeParse Parse(string text, out long bytes)
    {
        bytes = 0;
        var match = SizePattern().Match(text);
        if (!match.Success)
        {
            return ByteSizeParse.Malformed;
        }

        long multiplier = char.ToLowerInvariant(match.Groups[2].ValueSpan is [var unit] ? unit : 'b') switch
        {
            'k' => 1L << 10,
            'm' => 1L << 20,
            'g' => 1L << 30,
            't' => 1L << 40,
            _ => 1,
        };
        if (!double.TryParse(match.Groups[1].ValueSpan, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            return ByteSizeParse.Malformed;
        }

        if (value * multiplier > MaxBytes)
        {
            return ByteSizeParse.TooLarge;
        }

        bytes = (long)Math.Round(value * multiplier);
        return ByteSizeParse.Ok;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^([0-9]{1,30}(?:\.[0-9]{1,6})?)([kmgtbKMGTB]?)\z", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
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

    /// <summary>
    /// GiB as every page shows them: at most one decimal (<c>121.7</c>, <c>16</c>), so one amount reads the same on
    /// the Dashboard, the GPU and host pages and in the swap's budget.
    /// </summary>
    public static string GiBNumber(double gib) => gib.ToString(MemoryFormat, CultureInfo.InvariantCulture);

    private const string MemoryFormat = "0.#";

    /// <summary><see cref="GiBNumber"/> with its unit: <c>121.7 GiB</c>.</summary>
    public static string FormatGiB(double gib) => $"{GiBNumber(gib)} GiB";

    /// <summary>For memory: <c>121.7 GiB</c> (binary units, as /proc/meminfo counts), written as <see cref="FormatGiB"/> writes GiB.</summary>
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

        return unit == 0 ? $"{bytes} B" : $"{value.ToString(MemoryFormat, CultureInfo.InvariantCulture)} {units[unit]}";
    }
}

/// <summary>What reading a size found: a size, text that is not one, or a size above <see cref="ByteSize.MaxBytes"/>.</summary>
public enum ByteSizeParse
{
    Ok,
    Malformed,
    TooLarge,
}
