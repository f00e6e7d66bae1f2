using Microsoft.Extensions.Logging;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Services;

/// <summary>
/// A service definition's memory cap checked against its Spark's memory, by the rule an applied cap meets
/// (<see cref="Validators.MemoryLimit(long, string, long, string)"/>): one check for the Settings form and
/// <c>/api/services/definitions</c>.
/// </summary>
public sealed partial class MemoryCapCheck(SparkFleet fleet, ILogger<MemoryCapCheck> logger)
{
    /// <summary>
    /// The cap's problem, or null. A Spark that does not answer now is no reason to refuse the definition: the cap
    /// is checked again when it is applied (<see cref="ServiceActions.SetMemoryLimitAsync"/>).
    /// </summary>
    public async Task<FieldError?> CheckAsync(ServiceDefinition service, CancellationToken cancellationToken)
    {
        if (service.MemoryLimitBytes is not { } bytes || fleet.Current.Find(service.Spark) is not { } entry)
        {
            return null;
        }

        try
        {
            var memory = await entry.Host.GetMemoryInfoAsync(cancellationToken).ConfigureAwait(false);
            return Validators.MemoryLimit(bytes, entry.Name, memory.TotalBytes) is { } tooLarge ? new FieldError("memoryLimit", tooLarge) : null;
        }
        catch (Exception ex) when (ex is SparkCommandException or SparkUnreachableException or RemoteCommandTimeoutException)
        {
            LogMemoryUnknown(service.Spark, ex.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The memory of {Spark} could not be read to check a service's memory cap ({Reason}); the cap is checked when it is applied")]
    private partial void LogMemoryUnknown(string spark, string reason);
}
