using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Signal;
using SparkControl.Core.Gateway;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Audio.Transcripts;

/// <summary>A chunk could not be transcribed after every attempt; the message says why and what to do.</summary>
public sealed class TranscriptionFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Sends pieces of audio to the transcription workers the gateway routes to, through the gateway's own capacity (the
/// same per-worker caps and queue its clients wait in), and reads back the words with their times. A worker that
/// refuses or fails is retried, on another worker when there is one; a full queue is waited out.
/// </summary>
public sealed class WorkerTranscriber(AudioRoutes routes, AudioCapacity capacity, HttpMessageInvoker http, TimeProvider time)
{
    /// <summary>
    /// The queue length a job's pieces accept per worker. A job never has more pieces out than the workers' caps, so this
    /// only keeps a job from being turned away by clients' requests waiting beside it.
    /// </summary>
    public const int JobQueuePerWorker = 64;

    /// <summary>How many pieces may be in flight for one job: what the workers serving the model take at once.</summary>
    public int Parallelism(string model) => routes.Resolve(AudioRole.Transcription, model) is AudioResolution.Workers { All: var all }
        ? Math.Max(1, all.Where(w => w.Healthy).Sum(w => w.MaxInFlight))
        : 1;

    /// <summary>The model a job uses: the one asked for, else the first transcription model a worker serves.</summary>
    /// <exception cref="TranscriptConflictException">No transcription worker serves it (or any).</exception>
    public string ResolveModel(string? requested)
    {
        if (!string.IsNullOrEmpty(requested))
        {
            return routes.Resolve(AudioRole.Transcription, requested) switch
            {
                AudioResolution.Workers => requested,
                AudioResolution.OtherRole other => throw new TranscriptConflictException($"'{Validators.Printable(requested)}' is a {other.Role.ToString().ToLowerInvariant()} model, not a transcription model."),
                AudioResolution.Unknown unknown => throw new TranscriptConflictException(
                    $"No transcription worker answers to '{Validators.Printable(requested)}'" + (unknown.Available.IsEmpty ? "; add models: to an ASR service in services.yaml." : $"; known: {string.Join(", ", unknown.Available)}.")),
                _ => throw new InvalidOperationException("Unexpected resolution."),
            };
        }

        return routes.Workers().Where(w => w.Role == AudioRole.Transcription).OrderByDescending(w => w.Healthy).SelectMany(w => w.Models).Select(m => m.Name).FirstOrDefault()
            ?? throw new TranscriptConflictException("No transcription worker is configured: give an ASR service models: in services.yaml (Services page).");
    }

    public async Task<IReadOnlyList<TranscriptWord>> TranscribeAsync(float[] samples, int sampleRate, string model, string? language, TranscriptOptions options, CancellationToken cancellationToken)
    {
        var wav = WavFile.Write16(sampleRate, samples);
        Exception? last = null;
        var refused = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var attempt = 1; attempt <= options.ChunkAttempts; attempt++)
        {
            if (routes.Resolve(AudioRole.Transcription, model) is not AudioResolution.Workers { All: var all })
            {
                throw new TranscriptionFailedException($"No transcription worker answers to '{Validators.Printable(model)}' any more.");
            }

            var candidates = all.Where(w => !refused.Contains(w.Key)).ToArray();
            if (candidates.Length == 0)
            {
                candidates = [.. all];
                refused.Clear();
            }

            try
            {
                using var slot = await capacity.AcquireAsync(candidates, JobQueuePerWorker, options.ChunkTimeout, cancellationToken).ConfigureAwait(false);
                var (words, outcome, error) = await SendAsync(slot.Worker, wav, model, language, options.ChunkTimeout, cancellationToken).ConfigureAwait(false);
                slot.Complete(outcome);
                if (words is not null)
                {
                    return words;
                }

                last = error;
                refused.Add(slot.Worker.Key);
            }
            catch (AudioCapacityException busy)
            {
                last = busy;
                await Task.Delay(Clamp(busy.RetryAfter), time, cancellationToken).ConfigureAwait(false);
            }
        }

        throw new TranscriptionFailedException($"A piece of the call could not be transcribed after {options.ChunkAttempts} attempts: {last?.Message} Check the ASR worker on the Services page and start the job again.", last);
    }

    private static TimeSpan Clamp(TimeSpan wait) => wait < TimeSpan.FromMilliseconds(200) ? TimeSpan.FromMilliseconds(200) : wait > TimeSpan.FromSeconds(10) ? TimeSpan.FromSeconds(10) : wait;

    private async Task<(IReadOnlyList<TranscriptWord>? Words, AudioOutcome Outcome, Exception? Error)> SendAsync(
        AudioWorker worker, byte[] wav, string model, string? language, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(worker.UpstreamFor(model) ?? model), "model" },
            { new StringContent("verbose_json"), "response_format" },
            { new StringContent("word"), "timestamp_granularities[]" },
            { new StringContent("0"), "temperature" },
        };
        if (!string.IsNullOrEmpty(language))
        {
            form.Add(new StringContent(language), "language");
        }

        var audio = new ByteArrayContent(wav);
        audio.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        form.Add(audio, "file", "chunk.wav");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(worker.Endpoint.GetLeftPart(UriPartial.Authority) + "/"), "v1/audio/transcriptions")) { Content = form };
        request.Headers.ConnectionClose = true;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await http.SendAsync(request, deadline.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return (null, AudioOutcome.Answered, new HttpRequestException($"{worker.Key} answered {(int)response.StatusCode}: {Validators.Printable(body.Length > 300 ? body[..300] : body)}", null, response.StatusCode));
            }

            return (AsrFormats.Parse(body).Words, AudioOutcome.Answered, null);
        }
        catch (HttpRequestException ex) when (ex.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused })
        {
            return (null, AudioOutcome.Refused, new HttpRequestException($"{worker.Key} refused the connection.", ex));
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TranscriptFormatException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var message = ex is OperationCanceledException ? $"{worker.Key} did not answer within {timeout.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s (Transcripts:ChunkTimeout)." : $"{worker.Key}: {ex.Message}";
            return (null, AudioOutcome.Failed, new HttpRequestException(message, ex, HttpStatusCode.BadGateway));
        }
    }
}
