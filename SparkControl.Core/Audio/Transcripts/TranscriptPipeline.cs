using System.Collections.Immutable;
using System.Globalization;
using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Referee;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Core.Audio.Transcripts;

/// <summary>Where a running job is: its phase, the share of the whole job done, and what it is doing in words.</summary>
public delegate void TranscriptProgress(TranscriptPhase phase, double progress, string? detail);

/// <summary>
/// One call from audio to a speaker-labelled transcript: echo cancellation of the microphone channel against the
/// remote one, both channels cut at silences and transcribed by the workers (in parallel up to their caps), the
/// words joined and merged by channel (and diarization), the remote side's echo removed from the local words, and
/// the referee asked about the utterances the merge is unsure of.
/// </summary>
public sealed class TranscriptPipeline(WorkerTranscriber transcriber, AudioOptions audio, TranscriptOptions options, Func<IRefereeChat?> referee, TimeProvider time)
{
    /// <summary>The share of the job each phase ends at, for one progress bar.</summary>
    private const double EchoEnd = 0.15, TranscribeEnd = 0.85, MergeEnd = 0.9;

    public const string MonoNote = "A mono recording without diarization: every word is given to one speaker. Upload a diarization (RTTM or pyannote JSON) to tell speakers apart.";

    public async Task<TranscriptResult> RunAsync(TranscriptJob job, string audioPath, TranscriptProgress progress, CancellationToken cancellationToken)
    {
        var notes = ImmutableArray.CreateBuilder<string>();
        var call = WavFile.Read(await File.ReadAllBytesAsync(audioPath, cancellationToken).ConfigureAwait(false));
        var model = await ResolveModelAsync(job.Settings.Model ?? options.Model, progress, cancellationToken).ConfigureAwait(false);
        var channels = call.Channels.ToArray();
        if (call.ChannelCount == 2)
        {
            channels[0] = await CancelEchoAsync(call, job.Settings.EchoCancel, notes, progress, cancellationToken).ConfigureAwait(false);
        }

        var words = await TranscribeAsync(channels, call.SampleRate, model, job.Settings.Language, progress, cancellationToken).ConfigureAwait(false);
        progress(TranscriptPhase.Merge, TranscribeEnd, "merging the words by speaker");
        var merged = Merge(job, words, notes);
        if (merged.Echo is { } echo)
        {
            progress(TranscriptPhase.EchoDedupe, MergeEnd, $"{echo.Removed.Count} local word(s) removed as echoes of the remote side");
            notes.Add(echo.Delay is { } delay
                ? string.Create(CultureInfo.InvariantCulture, $"Transcript echo pass: {echo.Removed.Count} local word(s) repeated the remote side {delay:0.###} s later and were removed.")
                : "Transcript echo pass: no remote words were repeated on the local channel.");
        }

        RefereeReport? report = null;
        if (job.Settings.Referee && options.RefereeMaxCalls > 0)
        {
            progress(TranscriptPhase.Referee, MergeEnd, "asking the chat model about uncertain speakers");
            var refereeOptions = new RefereeOptions { MaxCalls = options.RefereeMaxCalls, Timeout = options.RefereeTimeout, ConfidenceThreshold = audio.LowConfidence };
            var outcome = await TranscriptReferee.RunAsync(merged, referee(), refereeOptions, cancellationToken).ConfigureAwait(false);
            (merged, report) = (outcome.Result, outcome.Report);
        }

        return new TranscriptResult(merged, report, notes.ToImmutable());
    }

    /// <summary>
    /// The model to transcribe with. Right after a panel start the configuration and the first health check may not be
    /// in yet (a job queued again by a restart runs at once), and a worker may be restarting: wait for one to answer to
    /// the model for up to <see cref="TranscriptOptions.ChunkTimeout"/>, then fail with why.
    /// </summary>
    private async Task<string> ResolveModelAsync(string? requested, TranscriptProgress progress, CancellationToken cancellationToken)
    {
        var deadline = time.GetTimestamp();
        while (true)
        {
            try
            {
                return transcriber.ResolveModel(requested);
            }
            catch (TranscriptConflictException missing) when (time.GetElapsedTime(deadline) < options.ChunkTimeout)
            {
                progress(TranscriptPhase.Upload, 0, $"waiting for a transcription worker: {missing.Message}");
                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task<float[]> CancelEchoAsync(PcmAudio call, bool enabled, ImmutableArray<string>.Builder notes, TranscriptProgress progress, CancellationToken cancellationToken)
    {
        if (!enabled)
        {
            notes.Add("Echo cancellation was off: the microphone channel was transcribed as recorded.");
            return call.Channels[0];
        }

        progress(TranscriptPhase.EchoCancel, 0.01, "cancelling the loudspeaker's echo on the microphone channel");
        var result = await Task.Run(() => EchoCanceller.Cancel(call), cancellationToken).ConfigureAwait(false);
        notes.Add(result.Delay.HasEcho
            ? string.Create(CultureInfo.InvariantCulture, $"Echo cancelled on the microphone channel: delay {result.Delay.Delay.TotalMilliseconds:0} ms, estimated ERLE {result.ErleEstimateDb ?? 0:0.0} dB{(result.DriftPpm is { } ppm ? ", clock drift " + ppm.ToString("+0.0;-0.0", CultureInfo.InvariantCulture) + " ppm followed" : "")}{(result.LoudspeakerCurveDb is { } curve ? ", the loudspeaker's clipping modelled (" + curve.ToString("0.0", CultureInfo.InvariantCulture) + " dB)" : "")}.")
            : "No echo of the remote side was found on the microphone channel; it was transcribed as recorded.");
        progress(TranscriptPhase.EchoCancel, EchoEnd, null);
        return result.Output;
    }

    private async Task<List<TranscriptWord>[]> TranscribeAsync(float[][] channels, int sampleRate, string model, string? language, TranscriptProgress progress, CancellationToken cancellationToken)
    {
        var plans = channels.Select(c => CallChunker.Plan(c, sampleRate, options.ChunkLength, options.ChunkOverlap)).ToArray();
        var total = plans.Sum(p => p.Count);
        var results = plans.Select(p => new IReadOnlyList<TranscriptWord>[p.Count]).ToArray();
        using var slots = new SemaphoreSlim(transcriber.Parallelism(model));
        var done = 0;
        progress(TranscriptPhase.Transcribe, EchoEnd, $"0 of {total} piece(s) transcribed");
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = plans.SelectMany((plan, c) => plan.Select(chunk => Task.Run(async () =>
        {
            await slots.WaitAsync(failed.Token).ConfigureAwait(false);
            try
            {
                var piece = channels[c][chunk.From..chunk.To];
                results[c][chunk.Index] = await transcriber.TranscribeAsync(piece, sampleRate, model, language, options, failed.Token).ConfigureAwait(false);
                var finished = Interlocked.Increment(ref done);
                progress(TranscriptPhase.Transcribe, EchoEnd + ((TranscribeEnd - EchoEnd) * finished / total), $"{finished} of {total} piece(s) transcribed");
            }
            catch
            {
                // One piece that cannot be transcribed fails the job: stop sending the others.
                await failed.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                slots.Release();
            }
        }, failed.Token))).ToArray();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested && FirstFailure(tasks) is { } cause)
        {
            // The pieces stopped after the first failure report cancellation; the failure itself is the reason.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
        }

        return [.. plans.Select((plan, c) => CallChunker.Join(plan, results[c], sampleRate))];
    }

    private static Exception? FirstFailure(Task[] tasks) =>
        tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException);

    private LabelMergeResult Merge(TranscriptJob job, List<TranscriptWord>[] words, ImmutableArray<string>.Builder notes)
    {
        var settings = job.Settings;
        var merge = audio.ToMergeOptions();
        var segments = settings.Diarization is { Length: > 0 } text ? TranscriptRequestRules.Diarization(text, settings.Speakers) : null;
        if (words.Length == 1)
        {
            if (segments is null)
            {
                notes.Add(MonoNote);
                var speaker = settings.Speakers.FirstOrDefault() ?? "Speaker 1";
                return new LabelMergeJob([], [], [new ChannelTranscript(words[0], null, speaker)], merge, speaker, speaker, RemoveEcho: false).Run();
            }

            return new LabelMergeJob(words[0], segments, null, merge, audio.LocalSpeaker, audio.RemoteSpeaker).Run();
        }

        var local = settings.Speakers.ElementAtOrDefault(0) ?? audio.LocalSpeaker;
        var remote = settings.Speakers.ElementAtOrDefault(1) ?? audio.RemoteSpeaker;
        ChannelTranscript[] channels = [new(words[0], null, local), new(words[1], segments, segments is null ? remote : null)];
        return new LabelMergeJob([], [], channels, merge, local, remote, RemoveEcho: settings.EchoCancel).Run();
    }
}
