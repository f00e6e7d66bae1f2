using System.Collections.Immutable;
using System.Globalization;

namespace SparkControl.Sim.Vllm;

/// <summary>
/// How a NIM container is told what to serve: no command line, only its environment. <c>NIM_SERVED_MODEL_NAME</c>,
/// <c>NIM_SERVER_PORT</c> (8000), and <c>NGC_API_KEY</c>, without which it cannot fetch its model profile from NGC.
/// </summary>
public static class NimEnvironment
{
    public const string ServedModelName = "NIM_SERVED_MODEL_NAME";
    public const string ServerPort = "NIM_SERVER_PORT";
    public const string ApiKey = "NGC_API_KEY";

    /// <summary>The server's options, or the error NIM prints and its exit code.</summary>
    /// <param name="memoryShare">The share of unified memory the model takes once loaded.</param>
    public static (VllmServeOptions? Options, VllmCliError? Error) Parse(Func<string, string?> environment, double memoryShare)
    {
        if (string.IsNullOrEmpty(environment(ApiKey)))
        {
            return (null, new VllmCliError("ERROR [nim_sdk] NGC_API_KEY is not set: it is needed to download the model profile from NGC. Pass it with -e NGC_API_KEY or --env-file.", 1));
        }

        var portText = environment(ServerPort);
        var port = 8000;
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            return (null, new VllmCliError($"ERROR [nim_sdk] NIM_SERVER_PORT '{portText}' is not a port number.", 1));
        }

        var served = environment(ServedModelName) is { Length: > 0 } name ? name : "meta/llama-3.1-8b-instruct";
        return (new VllmServeOptions { Model = served, ServedModelNames = [served], Port = port, GpuMemoryUtilization = memoryShare, Given = ImmutableDictionary<string, string?>.Empty }, null);
    }
}
