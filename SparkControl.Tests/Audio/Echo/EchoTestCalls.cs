using System.Collections.Concurrent;
using SparkControl.Core.Audio.Echo;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Tests.Audio.Echo;

/// <summary>One generated call: the stereo file, its bytes, and the clean tracks as ground truth.</summary>
public sealed record EchoTestCall(string Name, string Directory, byte[] CallWav, PcmAudio Call, EchoGroundTruth Truth)
{
    /// <summary>The make-echo-call.sh options the call was made with.</summary>
    public IReadOnlyList<string> Options { get; init; } = [];

    /// <summary>The value given to an option of make-echo-call.sh (e.g. "--drift"), or null.</summary>
    public string? Option(string name)
    {
        var at = Options.ToList().IndexOf(name);
        return at >= 0 && at + 1 < Options.Count ? Options[at + 1] : null;
    }

    public float[] Mic => Call.Channels[0];

    public float[] Reference => Call.Channels[1];
}

/// <summary>
/// Test calls made by eng/audio/make-echo-call.sh (espeak-ng + sox) once per test run and shared by every test that
/// asks for the same variant.
/// </summary>
public static class EchoTestCalls
{
    public const string Default = "default";
    public const string Delay400 = "delay-400ms";
    public const string Gain1 = "echo-gain-1";
    public const string NoEcho = "no-echo";
    public const string EchoOnly = "echo-only";

    /// <summary>A room that rings for 0.6 s (8,192 taps): longer than the canceller's default tail.</summary>
    public const string LongRoom = "long-room";

    /// <summary>The same sentences taking turns (no double talk), 15 s: what a recogniser without overlap handling can follow.</summary>
    public const string Turns = "turns";

    /// <summary>The turn-taking scene eight times over (2 minutes): long enough to be cut into pieces.</summary>
    public const string TurnsTwoMinutes = "turns-2min";

    /// <summary>The real-room fault calls of eng/audio/fault-calls.txt (shared with the echo-side-by-side benchmark), each a minute long.</summary>
    public static IReadOnlyList<string> FaultCalls => FaultVariants.Value.Keys.ToList();

    private static readonly Lazy<Dictionary<string, string[]>> FaultVariants = new(() =>
        EchoFaultCall.Read(Path.Combine(Tools.RepositoryRoot, "eng", "audio", "fault-calls.txt")).ToDictionary(fault => fault.Name, fault => fault.Options.ToArray()));

    private static readonly Dictionary<string, string[]> Variants = new()
    {
        [Default] = [],
        [Delay400] = ["--delay", "0.4"],
        [Gain1] = ["--gain", "1.0"],
        [NoEcho] = ["--gain", "0"],
        [EchoOnly] = ["--no-local"],
        [LongRoom] = ["--t60", "0.6", "--ir-taps", "8192"],
        [Turns] = ["--scene", Path.Combine(Tools.RepositoryRoot, "eng", "audio", "scenes", "turns.txt"), "--length", "15"],
        [TurnsTwoMinutes] = ["--scene", Path.Combine(Tools.RepositoryRoot, "eng", "audio", "scenes", "turns.txt"), "--length", "15", "--minutes", "2"],
    };

    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"sc-echo-calls-{Environment.ProcessId}");
    private static readonly ConcurrentDictionary<string, Lazy<Task<EchoTestCall>>> Cache = new();

    public static Task<EchoTestCall> GetAsync(string name) =>
        Cache.GetOrAdd(name, n => new Lazy<Task<EchoTestCall>>(() => MakeAsync(n))).Value;

    private static async Task<EchoTestCall> MakeAsync(string name)
    {
        var directory = Path.Combine(Root, name);
        var script = Path.Combine(Tools.RepositoryRoot, "eng", "audio", "make-echo-call.sh");
        var options = Variants.TryGetValue(name, out var variant) ? variant : FaultVariants.Value[name];
        (await ProcessRunner.RunAsync("bash", [script, directory, .. options], TimeSpan.FromMinutes(2))).EnsureSuccess($"making the {name} test call");
        PcmAudio Read(string file) => WavFile.Read(File.ReadAllBytes(Path.Combine(directory, file)));
        var bytes = await File.ReadAllBytesAsync(Path.Combine(directory, "call.wav"));
        var truth = new EchoGroundTruth(Read("local.wav").Channels[0], Read("echo.wav").Channels[0], Read("noise.wav").Channels[0], 16000);
        return new EchoTestCall(name, directory, bytes, WavFile.Read(bytes), truth) { Options = options };
    }
}
