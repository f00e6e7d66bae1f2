using SparkControl.Core.Sparks;

namespace SparkControl.Core.Services;

public static class ServiceLinks
{
    /// <summary>The links to show for a service: those configured, or for Open WebUI its own address when none are.</summary>
    public static IEnumerable<ServiceLink> For(ServiceHealth service, IReadOnlyCollection<ServiceLink> configured) =>
        configured.Count > 0 ? configured
        : service is { Kind: ServiceKind.OpenWebUi, Endpoint: { } endpoint } ? [new ServiceLink("Open WebUI", endpoint.ToString())]
        : [];
}
