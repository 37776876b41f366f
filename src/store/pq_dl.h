/*
 * pq_dl: libpq, loaded when a store first names a PostgreSQL database.
 *
 * Linking libpq into the binary would make every command pay for it at start (it brings
 * OpenSSL, Kerberos and LDAP along: 11 million instructions of dynamic linking and
 * initialisation against 0.3 million for `flowtrack --version` without it), whether the
 * store is SQLite or not. So pg.c reaches libpq through this table, which ft_pq_load()
 * fills with dlopen() and dlsym() once per process; with FT_PQ_CALLS defined, the usual
 * names (PQexec...) call through it.
 */
#ifndef FT_STORE_PQ_DL_H
#define FT_STORE_PQ_DL_H

#include <libpq-fe.h>

struct ft_err;

#define FT_PQ_FUNCS(X)                                                                             \
    X(PQclear)                                                                                     \
    X(PQconnectPoll)                                                                               \
    X(PQconnectStartParams)                                                                        \
    X(PQconsumeInput)                                                                              \
    X(PQdb)                                                                                        \
    X(PQenterPipelineMode)                                                                         \
    X(PQerrorMessage)                                                                              \
    X(PQexitPipelineMode)                                                                          \
    X(PQfinish)                                                                                    \
    X(PQflush)                                                                                     \
    X(PQfreemem)                                                                                   \
    X(PQftype)                                                                                     \
    X(PQgetisnull)                                                                                 \
    X(PQgetlength)                                                                                 \
    X(PQgetResult)                                                                                 \
    X(PQgetvalue)                                                                                  \
    X(PQisBusy)                                                                                    \
    X(PQnfields)                                                                                   \
    X(PQnotifies)                                                                                  \
    X(PQntuples)                                                                                   \
    X(PQpipelineSync)                                                                              \
    X(PQresultErrorField)                                                                          \
    X(PQresultStatus)                                                                              \
    X(PQsendPrepare)                                                                               \
    X(PQsendQuery)                                                                                 \
    X(PQsendQueryParams)                                                                           \
    X(PQsendQueryPrepared)                                                                         \
    X(PQsetnonblocking)                                                                            \
    X(PQsetNoticeProcessor)                                                                        \
    X(PQsocket)                                                                                    \
    X(PQstatus)                                                                                    \
    X(PQtransactionStatus)

struct ft_pq {
#define FT_PQ_MEMBER(f) __typeof__(f) *f;
    FT_PQ_FUNCS(FT_PQ_MEMBER)
#undef FT_PQ_MEMBER
};
extern struct ft_pq ft_pq;

/* Load libpq (once per process; thread-safe): 0, or FT_EIO naming what is missing. */
int ft_pq_load(struct ft_err *err);

#ifdef FT_PQ_CALLS
#define PQclear              ft_pq.PQclear
#define PQconnectPoll        ft_pq.PQconnectPoll
#define PQconnectStartParams ft_pq.PQconnectStartParams
#define PQconsumeInput       ft_pq.PQconsumeInput
#define PQdb                 ft_pq.PQdb
#define PQenterPipelineMode  ft_pq.PQenterPipelineMode
#define PQerrorMessage       ft_pq.PQerrorMessage
#define PQexitPipelineMode   ft_pq.PQexitPipelineMode
#define PQfinish             ft_pq.PQfinish
#define PQflush              ft_pq.PQflush
#define PQfreemem            ft_pq.PQfreemem
#define PQftype              ft_pq.PQftype
#define PQgetisnull          ft_pq.PQgetisnull
#define PQgetlength          ft_pq.PQgetlength
#define PQgetResult          ft_pq.PQgetResult
#define PQgetvalue           ft_pq.PQgetvalue
#define PQisBusy             ft_pq.PQisBusy
#define PQnfields            ft_pq.PQnfields
#define PQnotifies           ft_pq.PQnotifies
#define PQntuples            ft_pq.PQntuples
#define PQpipelineSync       ft_pq.PQpipelineSync
#define PQresultErrorField   ft_pq.PQresultErrorField
#define PQresultStatus       ft_pq.PQresultStatus
#define PQsendPrepare        ft_pq.PQsendPrepare
#define PQsendQuery          ft_pq.PQsendQuery
#define PQsendQueryParams    ft_pq.PQsendQueryParams
#define PQsendQueryPrepared  ft_pq.PQsendQueryPrepared
#define PQsetnonblocking     ft_pq.PQsetnonblocking
#define PQsetNoticeProcessor ft_pq.PQsetNoticeProcessor
#define PQsocket             ft_pq.PQsocket
#define PQstatus             ft_pq.PQstatus
#define PQtransactionStatus  ft_pq.PQtransactionStatus
#endif

#endif
