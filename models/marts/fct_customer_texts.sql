{#- One row per text a customer wrote: their support messages (tickets, chats, calls) and the
    text of their reviews and NPS answers, attributed to the stitched customer and placed in
    the journey by the event they belong to. What the text and churn models read. -#}

with events as (

    select * from {{ ref('int_events_sessionized') }}
    where source in ('support_messages', 'reviews')

),

support_messages as (

    select * from {{ ref('stg_support__messages') }}
    where author_type = 'customer'

),

reviews as (

    select * from {{ ref('stg_reviews__reviews') }}
    where body is not null

),

texts as (

    select
        'support_messages' as source,
        message_id as source_text_id,
        ticket_id as thread_id,
        support_channel as text_type,
        subject,
        body,
        csat_score as score
    from support_messages

    union all

    select
        'reviews',
        review_id,
        review_id,
        review_type,
        cast(null as {{ dbt.type_string() }}),
        body,
        score
    from reviews

),

final as (

    select
        events.event_key as text_key,
        texts.source,
        texts.source_text_id,
        texts.thread_id,
        events.customer_key,
        events.occurred_at,
        events.channel,
        events.touchpoint,
        events.journey_stage,
        texts.text_type,
        texts.subject,
        texts.body,
        texts.score
    from texts
    inner join events
        on texts.source = events.source
        and texts.source_text_id = events.source_event_id

)

select * from final
