using System.Diagnostics;
using System.Globalization;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Benchmarks;

/// <summary>The harnesses' processes: started with their output relayed, waited for, measured from /proc, stopped.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class BenchProcess
{
    /// <summary>USER_HZ: the unit of utime and stime in /proc/PID/stat on Linux.</summary>
    internal const double TicksPerSecond = 100;

    /// <summary>User plus system CPU time of the processes, in ticks (fields 14 and 15 of /proc/PID/stat).</summary>
    internal static long CpuTicks(int[] processes) => processes.Sum(pid => Stat(pid, 14) + Stat(pid, 15));

    /// <summary>Field <paramref name="field"/> (1-based, as proc(5) numbers them) of /proc/PID/stat.</summary>
    internal static long Stat(int pid, int field)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may hold spaces: count from the ')' that closes it; field 3 follows it.
        return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[field - 3], CultureInfo.InvariantCulture);
    }

    internal static string Built(string dll) =>
        File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing: dotnet build -c Release");

    internal static Process Start(string fileName, string[] arguments, IDictionary<string, string> environment, string name, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) { Console.Error.WriteLine($"{name}: {line}"); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Waits until <paramref name="ready"/> holds; a process that exits first or is not ready in time is stopped.</summary>
    internal static async Task WhenReadyAsync(Process process, string what, TimeSpan timeout, Func<Task<bool>> ready)
    {
        try
        {
            await Wait.UntilAsync(
                async () => process.HasExited ? throw new InvalidOperationException($"{what}: the process exited with {process.ExitCode}") : await ready(),
                what, timeout, TimeSpan.FromMilliseconds(100));
        }
        catch
        {
            await StopAsync(process);
            throw;
        }
    }

    /// <summary>Whether GET <paramref name="url"/> answers 2xx (with <paramref name="containing"/> in its body, if given).</summary>
    internal static async Task<bool> AnswersAsync(Uri url, string? containing = null)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            var body = await client.GetStringAsync(url);
            return containing is null || body.Contains(containing, StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    internal static async ValueTask StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }
}
