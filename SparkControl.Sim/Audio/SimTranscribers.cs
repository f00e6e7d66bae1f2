using System.Globalization;
using System.Text;

namespace SparkControl.Sim.Audio;

/// <summary>A word with its times in seconds from the start of the audio.</summary>
public sealed record SimWord(string Word, double Start, double End);

/// <summary>What a simulated ASR worker heard.</summary>
public sealed record SimTranscript(string Text, IReadOnlyList<SimWord> Words, double Duration);

/// <summary>The recogniser's tools are not on this machine: the worker answers 503 with how to install them.</summary>
public sealed class EngineMissingException(string message) : Exception(message);

/// <summary>Turns a WAV file (any rate and channels) into words: the engine behind a simulated ASR worker.</summary>
public interface ISimTranscriber
{
    /// <param name="prompt">The request's prompt field (the gated transcriber echoes it, to show the order of service).</param>
    Task<SimTranscript> TranscribeAsync(string audioPath, string? prompt, CancellationToken cancellationToken);
}

/// <summary>
/// pocketsphinx (Debian <c>pocketsphinx</c>, <c>pocketsphinx-en-us</c>): a real recogniser, so the worker's latency and
/// capacity are this machine's. With a phrase list it decodes against a JSGF grammar of those phrases and is exact for
/// known scripts (audio.md §5); without one it uses the generic language model (words approximate, timings real).
/// </summary>
public sealed class PocketsphinxTranscriber(IReadOnlyList<string>? phrases = null) : ISimTranscriber
{
    public static bool IsInstalled => SimProcess.Exists("pocketsphinx_continuous") && SimProcess.Exists("sox");

    public async Task<SimTranscript> TranscribeAsync(string audioPath, string? prompt, CancellationToken cancellationToken)
    {
        if (!IsInstalled)
        {
            throw new EngineMissingException("pocketsphinx and sox are not installed on this machine (apt-get install pocketsphinx pocketsphinx-en-us sox)");
        }

        var work = Directory.CreateTempSubdirectory("sc-asr-");
        try
        {
            // pocketsphinx takes 16 kHz mono 16-bit; sox reads what the upload is (WAV, FLAC, Ogg with libsox-fmt-base).
            var wav = Path.Combine(work.FullName, "in.wav");
            var converted = await SimProcess.RunAsync("sox", ["-V1", audioPath, "-r", "16000", "-c", "1", "-b", "16", wav], null, cancellationToken).ConfigureAwait(false);
            if (converted.ExitCode != 0)
            {
                throw new InvalidDataException($"sox could not read the audio: {converted.Error.Trim()}");
            }

            var arguments = new List<string> { "-infile", wav, "-time", "yes", "-logfn", "/dev/null" };
            if (phrases is { Count: > 0 })
            {
                var grammar = Path.Combine(work.FullName, "phrases.gram");
                await File.WriteAllTextAsync(grammar, Grammar(phrases), cancellationToken).ConfigureAwait(false);
                arguments.AddRange(["-jsgf", grammar]);
            }

            var decoded = await SimProcess.RunAsync("pocketsphinx_continuous", arguments, null, cancellationToken).ConfigureAwait(false);
            var words = Parse(Encoding.UTF8.GetString(decoded.Output));
            var duration = (new FileInfo(wav).Length - 44) / 32000.0;
            return new SimTranscript(string.Join(' ', words.Select(w => w.Word)), words, Math.Round(Math.Max(0, duration), 3));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>A grammar that accepts any of the phrases: lower case, letters and apostrophes only.</summary>
    public static string Grammar(IEnumerable<string> phrases)
    {
        var alternatives = phrases
            .Select(p => new string([.. p.ToLowerInvariant().Select(c => char.IsAsciiLetterLower(c) || c == '\'' ? c : ' ')]))
            .Select(p => string.Join(' ', p.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            .Where(p => p.Length > 0)
            .Distinct();
        return $"#JSGF V1.0;\ngrammar phrases;\npublic <s> = {string.Join(" | ", alternatives)};\n";
    }

    /// <summary>The "word start end confidence" lines of <c>-time yes</c>, without silences, fillers and alternate marks.</summary>
    public static List<SimWord> Parse(string output)
    {
        var words = new List<SimWord>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 4 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var start)
                || !double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var end))
            {
                continue;
            }

            var word = parts[0].Split('(')[0];
            if (word.StartsWith('<') || word.StartsWith('[') || word.Length == 0)
            {
                continue;
            }

            words.Add(new SimWord(word, start, end));
        }

        return words;
    }
}

/// <summary>
/// A worker of known capacity: <paramref name="slots"/> requests are decoded at once, each taking exactly
/// <paramref name="serviceTime"/>; more wait inside the worker (as a real server queues). Its knee is <paramref name="slots"/>.
/// </summary>
public sealed class SlotTranscriber(int slots, TimeSpan serviceTime, TimeProvider? time = null) : ISimTranscriber
{
    private readonly SemaphoreSlim _slots = new(slots, slots);

    public async Task<SimTranscript> TranscribeAsync(string audioPath, string? prompt, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Task.Delay(serviceTime, time ?? TimeProvider.System, cancellationToken).ConfigureAwait(false);
            return new SimTranscript(prompt ?? "done", [new SimWord(prompt ?? "done", 0, serviceTime.TotalSeconds)], serviceTime.TotalSeconds);
        }
        finally
        {
            _slots.Release();
        }
    }
}

/// <summary>
/// A worker a test holds and releases: each request waits until the test opens a slot, so a test can fill a worker,
/// see what queues in front of it, and let requests through one at a time. The prompt comes back as the text, and
/// the order requests arrived in is kept.
/// </summary>
public sealed class GatedTranscriber : ISimTranscriber
{
    private readonly SemaphoreSlim _open = new(0);
    private readonly List<string?> _arrived = [];
    private int _waiting;

    /// <summary>Prompts in the order their requests reached the worker.</summary>
    public IReadOnlyList<string?> Arrived
    {
        get
        {
            lock (_arrived)
            {
                return [.. _arrived];
            }
        }
    }

    /// <summary>Requests held at the gate now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Lets <paramref name="count"/> held (or future) requests through.</summary>
    public void Open(int count = 1) => _open.Release(count);

    public async Task<SimTranscript> TranscribeAsync(string audioPath, string? prompt, CancellationToken cancellationToken)
    {
        lock (_arrived)
        {
            _arrived.Add(prompt);
        }

        Interlocked.Increment(ref _waiting);
        try
        {
            await _open.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        return new SimTranscript(prompt ?? "done", [new SimWord(prompt ?? "done", 0, 0.5)], 0.5);
    }
}
