namespace SparkControl.Core.Audio;

/// <summary>
/// The client the panel's own audio work (sweeps, transcription pieces, the referee) calls workers and model servers
/// with: direct, never through a proxy, no redirects or cookies, and a short connect timeout so a dead worker fails fast.
/// </summary>
public static class WorkerHttp
{
    public static HttpMessageInvoker CreateInvoker() =>
        new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false, ConnectTimeout = TimeSpan.FromSeconds(5) });
}
