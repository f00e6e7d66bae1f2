namespace SparkControl.Core.Hosts;

/// <summary>One package an apt-get run would change: its version now (null when new) and after (null when removed).</summary>
public sealed record AptPackageChange(string Package, string? CurrentVersion, string? NewVersion);

/// <summary>What <c>apt-get -s full-upgrade</c> says it would do: packages installed or upgraded, and packages removed.</summary>
public sealed record AptSimulation(IReadOnlyList<AptPackageChange> Upgrades, IReadOnlyList<AptPackageChange> Removals)
{
    public static AptSimulation Empty { get; } = new([], []);

    /// <summary>
    /// Reads the <c>Inst</c> and <c>Remv</c> lines of apt-get's simulation (they are not translated, unlike the prose
    /// around them): <c>Inst NAME [OLD] (NEW SOURCE [ARCH])</c>, <c>Inst NAME (NEW …)</c> for a new package and
    /// <c>Remv NAME [OLD]</c>. Every other line (Conf, notes, summaries, garbage) is skipped.
    /// </summary>
    public static AptSimulation Parse(string output)
    {
        var upgrades = new List<AptPackageChange>();
        var removals = new List<AptPackageChange>();
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("Inst ", StringComparison.Ordinal) && ParseLine(line) is { } installed)
            {
                upgrades.Add(installed);
            }
            else if (line.StartsWith("Remv ", StringComparison.Ordinal) && ParseLine(line) is { } removed)
            {
                removals.Add(removed with { NewVersion = null });
            }
        }

        return new AptSimulation(upgrades, removals);
    }

    /// <summary>The package after the keyword, the bracketed version now and the first word in parentheses (the new one).</summary>
    private static AptPackageChange? ParseLine(string line)
    {
        var rest = line[5..].Trim();
        var end = rest.IndexOf(' ', StringComparison.Ordinal);
        var package = end < 0 ? rest : rest[..end];
        if (package.Length == 0 || package.Any(c => char.IsControl(c) || c is '[' or '(' or ']' or ')'))
        {
            return null;
        }

        rest = end < 0 ? string.Empty : rest[end..].TrimStart();
        string? current = null;
        if (rest.StartsWith('[') && rest.IndexOf(']', StringComparison.Ordinal) is var close and > 0)
        {
            current = rest[1..close];
            rest = rest[(close + 1)..].TrimStart();
        }

        string? next = null;
        if (rest.StartsWith('(') && rest.Length > 1)
        {
            var word = rest[1..].Split([' ', ')'], 2)[0];
            next = word.Length > 0 ? word : null;
        }

        return new AptPackageChange(package, current, next);
    }
}
