using System.Diagnostics;
using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Audio.Signal;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Benchmarks;

/// <summary>Makes test calls with the repository's eng/audio/make-echo-call.sh (espeak-ng + sox) into a temp folder.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class EchoCalls
{
    /// <param name="Sentences">Who said what, when (the script's truth.tsv): channel 0 the local speaker, 1 the remote side.</param>
    public sealed record Call(string Name, PcmAudio Audio, EchoGroundTruth Truth, IReadOnlyList<TruthSentence> Sentences, TimeSpan? PathChange = null);

    /// <summary>The real-room fault calls listed in eng/audio/fault-calls.txt, each made with its options.</summary>
    public static IEnumerable<Call> Faults(string? nameContains) =>
        EchoFaultCall.Read(Path.Combine(RepositoryRoot(), "eng", "audio", "fault-calls.txt"))
            .Where(fault => nameContains is null || fault.Name.Contains(nameContains, StringComparison.Ordinal))
            .Select(fault => Make(fault.Name, [.. fault.Options]) with { PathChange = fault.PathChange });

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
        return new Call(name, audio, new EchoGroundTruth(Read("local.wav").Channels[0], Read("echo.wav").Channels[0], Read("noise.wav").Channels[0], audio.SampleRate),
            TranscriptScoring.ReadTruth(File.ReadAllText(Path.Combine(directory, "truth.tsv"))));
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
