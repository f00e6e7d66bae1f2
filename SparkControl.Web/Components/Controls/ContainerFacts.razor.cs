using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using SparkControl.Core.Services;
using SparkControl.Core.Units;
using SparkControl.Web;

namespace SparkControl.Web.Components.Controls;

public partial class ContainerFacts
{
    [Inject]
    public required Caller Caller { get; init; }

    [Parameter]
    public ServiceDetail? Detail { get; set; }

    [Parameter]
    public EventCallback OnLimitChanged { get; set; }

    private static string Limit(long? bytes) => bytes switch
    {
        null => "none",
        -1 => "unlimited",
        { } value => ByteSize.HumanBinary(value),
    };
}
