using System.Globalization;

namespace SparkControl.Tests.Infrastructure;

/// <summary>This machine's processes as /proc shows them (the test Sparks run here).</summary>
public static class ProcFs
{
    /// <summary>Whether any process's command line (arguments joined by spaces) contains <paramref name="text"/>.</summary>
    public static bool AnyCommandLineContains(string text) =>
        Pids().Any(pid => CommandLine(pid).Contains(text, StringComparison.Ordinal));

    /// <summary>A process's command line, arguments joined by spaces; empty when it is gone.</summary>
    public static string CommandLine(int pid) => Read(pid, "cmdline")?.Replace('\0', ' ').Trim() ?? string.Empty;

    /// <summary>The program name of a process (<c>/proc/PID/comm</c>), empty when it is gone.</summary>
    public static string Comm(int pid) => Read(pid, "comm")?.Trim() ?? string.Empty;

    /// <summary>Every process below <paramref name="root"/>, from the parent pids in /proc.</summary>
    public static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var pid in Pids())
        {
            // The parent pid is the second field after the command name, which ends at the last ')'.
            if (Read(pid, "stat") is { } stat)
            {
                parents[pid] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
            }
        }

        var found = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var parent))
        {
            foreach (var child in parents.Where(p => p.Value == parent).Select(p => p.Key))
            {
                found.Add(child);
                queue.Enqueue(child);
            }
        }

        return found;
    }

    private static IEnumerable<int> Pids() =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Select(name => int.TryParse(name, out var pid) ? pid : 0).Where(pid => pid > 0);

    private static string? Read(int pid, string file)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/{file}");
        }
        catch (IOException)
        {
            return null;
        }
    }
}
