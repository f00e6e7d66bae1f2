using BenchmarkDotNet.Attributes;
using SparkControl.Core.Audio.Echo;

namespace SparkControl.Benchmarks;

/// <summary>
/// One minute of the test call (the 14 s scene repeated), so each benchmark's mean is the seconds of processing per
/// minute of audio. Ours with 2 passes (the default) and 1 pass, and speexdsp (P/Invoke, same 256-sample frames and
/// 256 ms tail). Run: <c>dotnet run -c Release --project SparkControl.Benchmarks -- --filter '*EchoCanceller*'</c>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class EchoCancellerBenchmarks
{
    private EchoCalls.Call _call = null!;

    [GlobalSetup]
    public void Setup() => _call = EchoCalls.Make("one-minute", "--minutes", "1");

    [Benchmark(Baseline = true)]
    public float[] SpeexdspPerMinute() =>
        SpeexEchoCanceller.Cancel(_call.Audio.Channels[0], _call.Audio.Channels[1], _call.Audio.SampleRate, 256, 4096).Output;

    [Benchmark]
    public float[] OursTwoPassesPerMinute() => EchoCanceller.Cancel(_call.Audio).Output;

    [Benchmark]
    public float[] OursOnePassPerMinute() => EchoCanceller.Cancel(_call.Audio, new EchoCancellerSettings { Passes = 1 }).Output;
}
