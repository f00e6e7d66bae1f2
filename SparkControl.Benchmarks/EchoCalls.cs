using System.Diagnostics;
using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Benchmarks;

/// <summary>Makes test calls with the repository's eng/audio/make-echo-call.sh (espeak-ng + sox) into a temp folder.</summary>
internal static class EchoCalls
{
    public sealed record Call(string Name, PcmAudio Audio, EchoGroundTruth Truth, TimeSpan? PathChange = null);

    /// <summary>The real-room fault calls listed in eng/audio/fault-calls.txt, each made with its options (and a minute long).</summary>
    public static IEnumerable<Call> Faults(string? nameContains)
    {
        foreach (var line in File.ReadAllLines(Path.Combine(RepositoryRoot(), "eng", "audio", "fault-calls.txt")))
        {
            if (line.StartsWith('#') || !line.Contains('|', StringComparison.Ordinal))
            {
                continue;
            }

            var name = line[..line.IndexOf('|', StringComparison.Ordinal)];
            if (nameContains is not null && !name.Contains(nameContains, StringComparison.Ordinal))
            {
                continue;
            }

            var options = line[(name.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var change = Array.IndexOf(options, "--path-change");
            var call = Make(name, [.. options, "--minutes", "1"]);
            yield return change < 0 ? call : call with { PathChange = TimeSpan.FromSeconds(double.Parse(options[change + 1], System.Globalization.CultureInfo.InvariantCulture)) };
        }
    }

    public static Call Make(string name, params string[] options)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"sc-echo-bench-{Environment.ProcessId}", name);
        var start = new ProcessStartInfo("bash") { RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(RepositoryRoot(), "eng", "audio", "make-echo-call.sh"));
        start.ArgumentList.Add(directory);
        foreach (var option in options)
        {
            start.ArgumentList.Add(option);
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"make-echo-call.sh failed: {errors}");
        }

        PcmAudio Read(string file) => WavFile.Read(File.ReadAllBytes(Path.Combine(directory, file)));
        var audio = Read("call.wav");
        return new Call(name, audio, new EchoGroundTruth(Read("local.wav").Channels[0], Read("echo.wav").Channels[0], Read("noise.wav").Channels[0], audio.SampleRate));
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "SparkControl.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("SparkControl.sln not found above the benchmark.");
    }
}
